using System.Globalization;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// The <c>pingpong</c> scenario under <c>migrate</c> and under <c>uvm-thrashing</c> at one size,
/// in <c>--mode concurrent</c>: UVM's thrashing detection must cut the migrations and raise the
/// useful work done per second. Concurrent, because that is the pattern the detector is built for:
/// in lockstep rounds a page changes hands about once a round, further apart than UVM's 500 µs
/// lapse, so no fault counts as thrashing and both policies migrate alike. A few hot pages (16
/// quick, 32 full), because that is what thrashes: with 256 pages on two cores a page changes hands
/// every few milliseconds, outside the lapse, and UVM's detector rightly takes most of those moves
/// for ordinary migrations. Enough rounds that the comparison is about the steady state, not the
/// ramp: UVM still migrates a page about 100 to 200 times before pinning it.
/// </summary>
/// <remarks>
/// At full size the pair of runs is repeated (<see cref="Repeats"/>) and the medians are the
/// measurement, the smallest ratios reported beside them. How many migrations <c>migrate</c> makes
/// varies widely with how the two cores are shared between the device's thread and the CPU
/// threads: on one machine, over twenty runs of the same size made 83k to 868k, and one more only
/// 21k (4.8x fewer than uvm-thrashing's, where the others gave 18x to 187x). Such a run is the tail
/// of the baseline, not the detector's result.
/// </remarks>
public sealed class PingpongProbe : IBenchProbe
{
    /// <summary>Pairs of runs at full size.</summary>
    public const int Repeats = 3;

    /// <inheritdoc/>
    public string Name => "pingpong";

    /// <inheritdoc/>
    public string Summary => "pingpong: uvm-thrashing against migrate (migrations, useful ops/s)";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } =
    [
        new("fewer_migrations", 10, AtLeast: true, "x", "fewer migrations than migrate"),
        new("ops_ratio", 2, AtLeast: true, "x", "the useful ops/s of migrate"),
    ];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var scenario = new ScenarioSettings
        {
            Policies = ["migrate", "uvm-thrashing"],
            Pages = settings.Pick(16, 32),
            Threads = 2,
            Rounds = 40_000,
            Options = new Dictionary<string, string> { [PingpongScenario.Mode.Name] = "concurrent" },
        };
        var repeats = settings.Pick(1, Repeats);
        var pairs = Enumerable.Range(0, repeats).Select(_ => new PingpongScenario().Run(settings.Context(settings.Cpu, scenario))).Select(r => (Migrate: r.Runs[0], Uvm: r.Runs[1])).ToList();
        var (metrics, spread) = Compare(pairs);
        return BenchRun.Of(
            this,
            "cpu",
            metrics,
            $"{scenario.Pages} pages, {scenario.Threads} CPU threads, {scenario.Rounds} rounds, concurrent; {spread}",
            [.. pairs.SelectMany((p, k) => new[] { p.Migrate, p.Uvm }.SelectMany(r => r.Invariants.Select(i => repeats == 1 ? i : i with { Name = $"{i.Name} ({r.Name}, pair {k + 1})" })))]);
    }

    /// <summary>
    /// The probe's metrics from pairs of runs (migrate, then uvm-thrashing): per pair, how many times
    /// fewer migrations uvm-thrashing made and how many times the useful ops/s; their medians are the
    /// measurement, their minimums reported beside them, with each policy's median counts and rates.
    /// Also the per-pair ratios in words.
    /// </summary>
    internal static (Dictionary<string, Metric> Metrics, string Spread) Compare(IReadOnlyList<(PolicyRun Migrate, PolicyRun Uvm)> pairs)
    {
        static double Value(PolicyRun run, string metric) => run.Metrics.TryGetValue(metric, out var m) ? m.Value : double.NaN;
        var fewer = pairs.Select(p => Value(p.Migrate, "migrations") / Math.Max(1, Value(p.Uvm, "migrations"))).ToList();
        var ops = pairs.Select(p => Value(p.Uvm, "useful_ops_per_s") / Value(p.Migrate, "useful_ops_per_s")).ToList();
        double Median(Func<(PolicyRun Migrate, PolicyRun Uvm), PolicyRun> run, string metric) => Timing.Median([.. pairs.Select(p => Value(run(p), metric))]);
        var metrics = new Dictionary<string, Metric>
        {
            ["fewer_migrations"] = new(Timing.Median(fewer), "x"),
            ["ops_ratio"] = new(Timing.Median(ops), "x"),
            ["fewer_migrations_min"] = new(fewer.Min(), "x"),
            ["ops_ratio_min"] = new(ops.Min(), "x"),
            ["migrate_migrations"] = new(Median(p => p.Migrate, "migrations"), "count"),
            ["uvm_migrations"] = new(Median(p => p.Uvm, "migrations"), "count"),
            ["migrate_ops_per_s"] = new(Median(p => p.Migrate, "useful_ops_per_s"), "ops/s"),
            ["uvm_ops_per_s"] = new(Median(p => p.Uvm, "useful_ops_per_s"), "ops/s"),
        };
        var spread = pairs.Count == 1
            ? "one pair of runs"
            : $"median of {pairs.Count} pairs of runs (fewer migrations {string.Join(", ", fewer.Select(f => f.ToString("0.#", CultureInfo.InvariantCulture) + "x"))}; ops/s {string.Join(", ", ops.Select(o => o.ToString("0.#", CultureInfo.InvariantCulture) + "x"))})";
        return (metrics, spread);
    }
}
