namespace Testbed.Explore;

/// <summary>
/// What one exploration is asked to do: search <see cref="Variant"/> of <see cref="Target"/> with
/// <see cref="Strategy"/> for up to <see cref="Schedules"/> schedules from <see cref="Seed"/>, or,
/// with <see cref="Trace"/>, replay that one schedule. It crosses into the rewritten assemblies as JSON.
/// </summary>
public sealed record ExploreRequest
{
    /// <summary>The target's name (<see cref="ExploreTargets"/>).</summary>
    public required string Target { get; init; }

    /// <summary>The variant: the target's buggy or fixed one.</summary>
    public required string Variant { get; init; }

    /// <summary><c>random</c> or <c>pct</c>.</summary>
    public string Strategy { get; init; } = "random";

    /// <summary>The most schedules to explore; the search stops at the first finding.</summary>
    public int Schedules { get; init; } = 1;

    /// <summary>The seed of the strategy's random choices.</summary>
    public uint Seed { get; init; } = 1;

    /// <summary>Threads for targets that take a thread count.</summary>
    public int Threads { get; init; } = 3;

    /// <summary>A Coyote reproducible trace to replay instead of searching.</summary>
    public string? Trace { get; init; }
}
