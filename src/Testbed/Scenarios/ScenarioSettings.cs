namespace Testbed.Scenarios;

/// <summary>
/// What <c>testbed run</c> was asked for. Null sizes take the scenario's default for
/// <see cref="Size"/>; <see cref="Options"/> holds the scenario's own options by name, already
/// checked.
/// </summary>
public sealed record ScenarioSettings
{
    /// <summary>Residency policies to compare (null: the scenario's default set).</summary>
    public IReadOnlyList<string>? Policies { get; init; }

    /// <summary>Pages in the working set (or device pages, for oversubscription).</summary>
    public int? Pages { get; init; }

    /// <summary>CPU threads.</summary>
    public int? Threads { get; init; }

    /// <summary>Rounds of device work.</summary>
    public int? Rounds { get; init; }

    /// <summary>Seed of every random choice a run makes.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>CI or full size.</summary>
    public RunSize Size { get; init; } = RunSize.Ci;

    /// <summary>The link to run on.</summary>
    public LinkCoherence Coherence { get; init; } = LinkCoherence.Native;

    /// <summary>How long no operation may complete before the watchdog stops the run (DESIGN §5).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The scenario's own options, by name without dashes.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary><paramref name="value"/> if set, else <paramref name="ci"/> or <paramref name="full"/> by <see cref="Size"/>.</summary>
    public int Pick(int? value, int ci, int full) => value ?? (Size == RunSize.Ci ? ci : full);
}
