namespace Testbed.Explore;

/// <summary>What an exploration found, with the numbers the report shows; it crosses back as JSON.</summary>
public sealed record ExploreOutcome
{
    /// <summary>Schedules explored, the finding's included.</summary>
    public required int Schedules { get; init; }

    /// <summary>Model schedule points passed in all of them.</summary>
    public required long Points { get; init; }

    /// <summary>Wall-clock seconds the search took.</summary>
    public required double Seconds { get; init; }

    /// <summary>The first finding (Coyote's bug report: the failed assertion, the deadlock), or null.</summary>
    public string? Finding { get; init; }

    /// <summary>The Coyote reproducible trace of the finding's schedule, or null.</summary>
    public string? Trace { get; init; }

    /// <summary>Whether the assemblies that ran were Coyote-rewritten (a plain build explores nothing).</summary>
    public required bool Rewritten { get; init; }
}
