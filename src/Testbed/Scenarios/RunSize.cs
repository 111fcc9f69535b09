namespace Testbed.Scenarios;

/// <summary>How big a run is: <see cref="Ci"/> fits the whole suite in under two minutes on two cores; <see cref="Full"/> is for measurements.</summary>
public enum RunSize
{
    /// <summary>Small defaults (pages, threads, rounds) for CI and the README's main command.</summary>
    Ci,

    /// <summary>Larger defaults for measurements worth comparing.</summary>
    Full,
}
