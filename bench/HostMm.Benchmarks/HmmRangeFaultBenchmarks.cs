using BenchmarkDotNet.Attributes;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.Benchmarks;

/// <summary>
/// DESIGN §7: <c>HmmRangeFault</c> over resident, writable pages with a write requested — the walk a
/// driver does before every device mapping when nothing needs faulting: the notifier sequence, the
/// mmap read lock, one PTE read and one pfn entry per page. One operation is one page. Target: at
/// least 20M pages/s (50 ns per page).
/// </summary>
[MemoryDiagnoser]
public class HmmRangeFaultBenchmarks
{
    private const int Pages = 16384;
    private HostKernel _kernel = null!;
    private AddressSpace _mm = null!;
    private MmuIntervalNotifier _notifier = null!;
    private HmmRange _range = null!;

    [GlobalSetup]
    public void Setup()
    {
        _kernel = new HostKernel(new HostKernelOptions { MemoryBytes = (Pages * 4096L) + (16L << 20), ValidateLocks = false });
        _mm = _kernel.CreateAddressSpace();
        Check(_mm.Mmap(0, Pages * 4096UL, Prot.ReadWrite, MmapFlags.Private, out var va), "mmap");
        using (var cpu = new CpuContext(_mm))
        {
            for (var p = 0UL; p < Pages; p++)
            {
                Check(cpu.Write(va + (p * 4096), 1L), "populate");
            }
        }

        Check(_mm.Notifiers.Insert(va, Pages * 4096UL, new QuietMirror(), out var notifier), "notifier");
        _notifier = notifier!;
        _range = new HmmRange
        {
            Notifier = _notifier,
            Start = va,
            End = va + (Pages * 4096UL),
            HmmPfns = new ulong[Pages],
            DefaultFlags = HmmPfn.ReqFault | HmmPfn.ReqWrite,
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _notifier.Remove();
        _mm.Dispose();
        _kernel.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Pages, Description = "HmmRangeFault, resident page, write requested")]
    public void RangeFault()
    {
        _range.NotifierSeq = _notifier.ReadBegin();
        _mm.MmapLock.DownRead();
        var err = HmmMirror.HmmRangeFault(_range);
        _mm.MmapLock.UpRead();
        Check(err, "HmmRangeFault");
    }

    private static void Check(Errno err, string what)
    {
        if (err != Errno.Ok)
        {
            throw new InvalidOperationException($"{what}: {err}");
        }
    }

    /// <summary>A mirror with no device page table: it only acknowledges invalidations.</summary>
    private sealed class QuietMirror : IMmuIntervalNotifierOps
    {
        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            subscription.SetSeq(curSeq);
            return true;
        }
    }
}
