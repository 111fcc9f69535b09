using Testbed.Results;

namespace Testbed.Bench;

/// <summary>Builds a probe's run: its metrics, and one <c>target</c> invariant per target of the probe.</summary>
public static class BenchRun
{
    /// <summary>
    /// The run of <paramref name="probe"/> on <paramref name="backend"/> with <paramref name="metrics"/>;
    /// <paramref name="detail"/> explains the measurement, in each target's invariant and in the run's
    /// <c>detail</c> setting (where a probe measured for information, with no target, keeps it).
    /// </summary>
    public static PolicyRun Of(IBenchProbe probe, string backend, IReadOnlyDictionary<string, Metric> metrics, string detail, IReadOnlyList<Invariant>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(metrics);
        var invariants = probe.Targets.Select(t => metrics.TryGetValue(t.Metric, out var m)
            ? t.Check(m.Value, detail)
            : new Invariant($"target {t.Metric}", false, $"{t.Metric} was not measured; {detail}")).ToList();
        invariants.AddRange(extra ?? []);
        return new PolicyRun
        {
            Name = backend == "cpu" ? probe.Name : $"{probe.Name} ({backend})",
            Policy = backend,
            Settings = new Dictionary<string, string> { ["summary"] = probe.Summary, ["targets"] = string.Join("; ", probe.Targets.Select(t => $"{t.Metric} {t.Text}")), ["detail"] = detail },
            Metrics = metrics,
            Invariants = invariants,
        };
    }
}
