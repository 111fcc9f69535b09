using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Algorithms;
using Testbed.Kernels.Conformance;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The conformance suite (<see cref="ConformanceSuite"/>) on every accelerator this machine offers —
/// the direct cpu runner and ILGPU's CPU accelerator always, a GPU where one exists — each check where
/// it applies; and what the suite leaves to the accelerators that differ on purpose.
/// </summary>
public sealed class ConformanceSuiteTests
{
    public static TheoryData<AcceleratorKind, string> Checks
    {
        get
        {
            var data = new TheoryData<AcceleratorKind, string>();
            foreach (var kind in AcceleratorKinds.All.Where(k => Runners.Missing(k) is null))
            {
                using var runner = Runners.Create(kind);
                foreach (var check in ConformanceSuite.All.Where(c => c.Applies(runner)))
                {
                    data.Add(kind, check.Name);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Checks))]
    public void Every_check_holds_on_every_accelerator(AcceleratorKind kind, string check)
    {
        using var runner = Runners.Create(kind);
        var outcome = ConformanceSuite.Run(ConformanceSuite.Find(check), runner);
        Assert.True(outcome.Held, $"{check} on {kind.Name()}: {outcome.Detail}");
        Assert.False(runner.Link.IsEmulated, "a check left the link emulated");
    }

    [Fact]
    public void Every_accelerator_runs_every_check_but_the_direct_runner_skips_the_ones_needing_groups()
    {
        using var cpu = Runners.Create(AcceleratorKind.Cpu);
        using var ilgpu = Runners.Create(AcceleratorKind.IlgpuCpu);
        Assert.Equal(ConformanceSuite.All.Select(c => c.Name), ConformanceSuite.All.Where(c => c.Applies(ilgpu)).Select(c => c.Name));
        Assert.Equal(["explicit-groups", "fault-sort"], ConformanceSuite.All.Where(c => !c.Applies(cpu)).Select(c => c.Name));
        Assert.Equal(ConformanceSuite.All.Count, ConformanceSuite.All.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void A_check_that_throws_is_a_failed_outcome_naming_the_exception()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        var outcome = ConformanceSuite.Run(new ConformanceCheck("throws", "throws", _ => throw new InvalidOperationException("boom")), runner);
        Assert.False(outcome.Held);
        Assert.Equal("InvalidOperationException: boom", outcome.Detail);
        Assert.Throws<ArgumentException>(() => ConformanceSuite.Find("nosuch"));
    }

    [Fact]
    public void The_direct_runner_refuses_a_kernel_that_needs_groups_naming_it_and_the_alternative()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        var e = Assert.Throws<NotSupportedException>(() => runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.BarrierInImplicitGroup));
        Assert.Contains("ConformanceKernels.BarrierInImplicitGroup", e.Message, StringComparison.Ordinal);
        Assert.Contains("ILGPU.Group.Barrier", e.Message, StringComparison.Ordinal);
        Assert.Contains("ilgpu-cpu", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_direct_runner_has_no_device_sorter_and_a_sorter_refuses_a_batch_past_its_capacity()
    {
        using var cpu = Runners.Create(AcceleratorKind.Cpu);
        Assert.Contains("the host sorts there", Assert.Throws<NotSupportedException>(() => new DeviceFaultSorter(cpu, 16)).Message, StringComparison.Ordinal);
        using var ilgpu = Runners.Create(AcceleratorKind.IlgpuCpu);
        using var sorter = new DeviceFaultSorter(ilgpu, 8);
        using var big = ilgpu.Allocate1D<int>(9);
        Assert.Throws<ArgumentOutOfRangeException>(() => sorter.SortUnique(big.View));
    }

    [Fact]
    public void Emulating_the_link_switches_the_reported_coherence_and_zero_restores_the_native_link()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        runner.EmulateNonCoherentLink(10);
        Assert.False(runner.HostAtomicsCoherent);
        Assert.Equal(10, runner.Link.DelaySteps);
        runner.EmulateNonCoherentLink(0);
        Assert.True(runner.HostAtomicsCoherent);
        Assert.False(runner.Link.IsEmulated);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.EmulateNonCoherentLink(-1));
    }

    [Fact]
    public unsafe void Mapping_a_null_pointer_or_a_negative_length_is_refused()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        Assert.Throws<ArgumentNullException>(() => runner.MapHost<int>(null, 4));
        var host = stackalloc int[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.MapHost(host, -1));
    }
}
