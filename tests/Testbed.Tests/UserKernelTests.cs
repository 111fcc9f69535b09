using ILGPU;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Compilation;
using Testbed.Tests.UserKernels;

namespace Testbed.Tests;

/// <summary>
/// A user's own ILGPU kernel on mirrored memory (<see cref="HistogramKernel"/>, written outside
/// <c>src/</c>): it runs under every policy, with the exclusivity protocol on and off, on the direct
/// cpu runner and ILGPU's CPU accelerator, while a CPU thread keeps touching the bins so the device
/// faults and replays — and every sample is counted exactly once. With the CPU adding to the same
/// bins, the protocol decides whether updates are lost, as for the testbed's own workload.
/// </summary>
public sealed class UserKernelTests
{
    private const int Pages = 4;
    private const int BinsPerPage = 4;
    private const int Items = 64;
    private const int PerItem = 24;

    public static TheoryData<AcceleratorKind, string, bool> Cases
    {
        get
        {
            var data = new TheoryData<AcceleratorKind, string, bool>();
            foreach (var kind in new[] { AcceleratorKind.Cpu, AcceleratorKind.IlgpuCpu })
            {
                foreach (var policy in ResidencyPolicies.Names)
                {
                    data.Add(kind, policy, true);
                    data.Add(kind, policy, false);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_user_histogram_counts_every_sample_exactly_once_under_each_policy(AcceleratorKind kind, string policyName, bool protocol)
    {
        // The coherent policy needs a coherent link; every other one runs across the emulated PCIe-like link.
        using var t = new DriverFixture(kind, nonCoherent: policyName != "coherent");
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, ResidencyPolicies.Create(policyName, Pages)!, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ExclusiveAtomics = protocol, OpsPerLaunch = 4 });
        var binStride = t.WordsPerPage / BinsPerPage;
        var rng = new Random(11);
        var samples = Enumerable.Range(0, Items * PerItem).Select(_ => rng.Next(Pages * BinsPerPage)).ToArray();
        using var samplesOnDevice = mirror.Runner.Allocate1D<int>(samples);

        // A CPU thread reads every bin again and again, taking pages back and revoking mappings.
        var stop = 0;
        var reads = 0L;
        var reader = new Thread(() =>
        {
            using var cpu = new HostMm.Cpu.CpuContext(t.Mm);
            while (Volatile.Read(ref stop) == 0)
            {
                for (var b = 0; b < Pages * BinsPerPage; b++)
                {
                    Assert.Equal(Errno.Ok, cpu.Read(va + ((ulong)(b * binStride) * sizeof(int)), out int _));
                    reads++;
                }
            }
        });
        reader.Start();
        Errno err;
        try
        {
            err = mirror.Run<ArrayView<int>, int, int>(HistogramKernel.Histogram, Items, samplesOnDevice.View, PerItem, binStride);
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            reader.Join();
        }

        Assert.True(err == Errno.Ok, $"{err}: {mirror.LastError}");
        Assert.True(mirror.Counters.Replays > 0, "the kernel faulted and was replayed");
        Assert.True(reads > 0);
        var words = t.CpuRead(va, Pages * t.WordsPerPage);
        var expected = new int[Pages * BinsPerPage];
        foreach (var s in samples)
        {
            expected[s]++;
        }

        Assert.Equal(expected, Enumerable.Range(0, Pages * BinsPerPage).Select(b => words[b * binStride]));
        Assert.Equal(Items * PerItem, words.Sum());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void With_the_cpu_adding_to_the_same_bins_the_protocol_decides_whether_updates_are_lost(bool protocol)
    {
        long lost = 0;
        for (var attempt = 0; attempt < 5 && (protocol ? attempt == 0 : lost == 0); attempt++)
        {
            using var t = new DriverFixture(AcceleratorKind.Cpu, nonCoherent: true);
            var va = t.Map(1);
            var mirror = t.Mirror(va, 1, new RemotePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16, ExclusiveAtomics = protocol, OpsPerLaunch = 16 });
            using var samples = t.Runner.Allocate1D<int>(new int[Items * PerItem]);
            var cpuAdds = 0L;
            var deviceDone = 0;
            var adder = new Thread(() =>
            {
                using var cpu = new HostMm.Cpu.CpuContext(t.Mm);
                var until = Environment.TickCount64 + 100;
                while (Volatile.Read(ref deviceDone) == 0 || Environment.TickCount64 < until)
                {
                    Assert.Equal(Errno.Ok, cpu.AtomicAdd(va, 1, out int _));
                    cpuAdds++;
                }
            });
            adder.Start();
            var err = mirror.Run<ArrayView<int>, int, int>(HistogramKernel.Histogram, Items, samples.View, PerItem, 1);
            Volatile.Write(ref deviceDone, 1);
            adder.Join();
            Assert.Equal(Errno.Ok, err);
            lost = (Items * PerItem) + cpuAdds - t.CpuRead(va, 1)[0];
            if (protocol)
            {
                Assert.Equal(0, lost);
            }
        }

        Assert.True(protocol || lost > 0, "five runs without the protocol lost no update");
    }

    [Fact]
    public void A_user_kernel_that_addresses_outside_the_range_is_cancelled_and_the_run_says_so()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(1);
        var mirror = t.Mirror(va, 1, new MigratePolicy());
        Assert.Equal(Errno.EFAULT, mirror.Run(HistogramKernel.OutOfRange, 8, 1));
        Assert.Contains("8 of 8 work items addressed a word outside the mirrored range", mirror.LastError, StringComparison.Ordinal);
        Assert.Equal(0, mirror.Counters.Replays);
    }

    [Fact]
    public void A_user_kernel_compiles_to_ptx_like_the_testbeds_own()
    {
        var ptx = KernelCompiler.Ptx(typeof(HistogramKernel).GetMethod(nameof(HistogramKernel.Histogram))!, ILGPU.Runtime.Cuda.CudaArchitecture.SM_80);
        Assert.Contains(".visible .entry Kernel_Histogram", ptx, StringComparison.Ordinal);
        Assert.Contains("atom.add", ptx, StringComparison.Ordinal);
    }
}
