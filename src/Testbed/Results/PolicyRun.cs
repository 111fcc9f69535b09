namespace Testbed.Results;

/// <summary>
/// One run of a scenario under one policy or variant (<c>migrate</c>, <c>protocol=on</c>,
/// <c>ratio=1.5</c>): its settings, metrics, invariants and, where the scenario records them, a
/// residency timeline and migrations per page.
/// </summary>
public sealed record PolicyRun
{
    /// <summary>What the run is called in tables and charts.</summary>
    public required string Name { get; init; }

    /// <summary>The residency policy it ran under.</summary>
    public required string Policy { get; init; }

    /// <summary>The variant's own settings (<c>protocol</c>, <c>ratio</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Metrics by name.</summary>
    public required IReadOnlyDictionary<string, Metric> Metrics { get; init; }

    /// <summary>What was checked.</summary>
    public required IReadOnlyList<Invariant> Invariants { get; init; }

    /// <summary>Where pages were over time, when recorded.</summary>
    public ResidencyTimeline? Timeline { get; init; }

    /// <summary>Migrations of each page, when recorded.</summary>
    public IReadOnlyList<int>? MigrationsPerPage { get; init; }

    /// <summary>Whether every invariant held.</summary>
    public bool Held => Invariants.All(i => i.Held);
}
