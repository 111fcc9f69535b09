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
public sealed class PingpongProbe : IBenchProbe
{
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
        var result = new PingpongScenario().Run(settings.Context(settings.Cpu, scenario));
        var migrate = result.Runs[0];
        var uvm = result.Runs[1];
        double Value(PolicyRun run, string metric) => run.Metrics.TryGetValue(metric, out var m) ? m.Value : double.NaN;
        var fewer = Value(migrate, "migrations") / Math.Max(1, Value(uvm, "migrations"));
        var ops = Value(uvm, "useful_ops_per_s") / Value(migrate, "useful_ops_per_s");
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["fewer_migrations"] = new(fewer, "x"),
            ["ops_ratio"] = new(ops, "x"),
            ["migrate_migrations"] = new(Value(migrate, "migrations"), "count"),
            ["uvm_migrations"] = new(Value(uvm, "migrations"), "count"),
            ["migrate_ops_per_s"] = new(Value(migrate, "useful_ops_per_s"), "ops/s"),
            ["uvm_ops_per_s"] = new(Value(uvm, "useful_ops_per_s"), "ops/s"),
        }, $"{scenario.Pages} pages, {scenario.Threads} CPU threads, {scenario.Rounds} rounds, concurrent", [.. migrate.Invariants, .. uvm.Invariants]);
    }
}
