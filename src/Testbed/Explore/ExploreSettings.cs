using Testbed.Scenarios;

namespace Testbed.Explore;

/// <summary>
/// How <c>testbed explore</c> searches: <see cref="Strategy"/> (<c>random</c> or <c>pct</c>), the budget
/// of schedules per search (<see cref="Schedules"/>, or by <see cref="Size"/>: 1,000 at ci, 10,000 at
/// full), the first seed, the threads of targets that take a count, and where found schedules are written.
/// A buggy baseline is searched once per seed of <see cref="Seeds"/> (3 at ci, 9 at full) for the median
/// schedules until the first finding; a fixed variant once, over the whole budget.
/// </summary>
public sealed record ExploreSettings
{
    /// <summary><c>random</c> or <c>pct</c>.</summary>
    public string Strategy { get; init; } = "random";

    /// <summary>Schedules per search; null for the size's budget.</summary>
    public int? Schedules { get; init; }

    /// <summary>The first seed.</summary>
    public uint Seed { get; init; } = 1;

    /// <summary>Threads of targets that take a count (2 to 4).</summary>
    public int Threads { get; init; } = 3;

    /// <summary>ci or full.</summary>
    public RunSize Size { get; init; } = RunSize.Ci;

    /// <summary>Where schedule files go.</summary>
    public string ScheduleDir { get; init; } = "testbed-schedules";

    /// <summary>Schedules per search.</summary>
    public int Budget => Schedules ?? (Size == RunSize.Full ? 10_000 : 1_000);

    /// <summary>Seeds a buggy baseline is searched with.</summary>
    public int Seeds => Size == RunSize.Full ? 9 : 3;
}
