using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// The software MMU's TLB hit: <c>CpuContext.AtomicAdd</c> on a resident page against a raw
/// <c>Interlocked.Add</c> on the same arena frame (the physical operation it models).
/// </summary>
public sealed unsafe class CpuAccessProbe : IBenchProbe
{
    private const int Ops = 4096;

    /// <inheritdoc/>
    public string Name => "cpu-access";

    /// <inheritdoc/>
    public string Summary => "CpuContext.AtomicAdd on a resident page (TLB hit) vs a raw Interlocked.Add on the same frame";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = [new("ratio", 0.5, AtLeast: true, "x", "of a raw Interlocked.Add")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel(16L << 20));
        var va = rig.Map(1);
        using var cpu = new CpuContext(rig.Mm);
        ScenarioRig.Check(cpu.Write(va, 0L), "write");
        var frame = (long*)rig.Kernel.Memory.FrameAddress(rig.Mm.GetPte(va).Pfn);
        var sink = 0L;
        var (raw, mmu) = Timing.PerOpPair(
            () =>
            {
                for (var i = 0; i < Ops; i++)
                {
                    sink += Interlocked.Add(ref *frame, 1);
                }
            },
            Ops,
            () =>
            {
                for (var i = 0; i < Ops; i++)
                {
                    cpu.AtomicAdd(va, 1L, out var v);
                    sink += v;
                }
            },
            Ops,
            settings.Budget);
        GC.KeepAlive(sink);
        cpu.Dispose();
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["ratio"] = new(raw / mmu, "x"),
            ["raw_ns"] = new(raw * 1e9, "ns"),
            ["cpu_context_ns"] = new(mmu * 1e9, "ns"),
        }, $"{raw * 1e9:0.00} ns raw vs {mmu * 1e9:0.00} ns through CpuContext", rig.TearDown());
    }
}
