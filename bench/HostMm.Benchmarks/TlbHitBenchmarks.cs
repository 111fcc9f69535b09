using BenchmarkDotNet.Attributes;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;

namespace Testbed.Benchmarks;

/// <summary>
/// DESIGN §7: an atomic add through the software MMU on a resident page (TLB hit) against a raw
/// <see cref="Interlocked.Add(ref long, long)"/> on the same arena frame. Target: the TLB-hit path
/// at least 0.5x the raw throughput, allocating nothing.
/// </summary>
[MemoryDiagnoser]
public unsafe class TlbHitBenchmarks
{
    private const int Ops = 4096;
    private HostKernel _kernel = null!;
    private AddressSpace _mm = null!;
    private CpuContext _cpu = null!;
    private ulong _va;
    private long* _frame;

    [GlobalSetup]
    public void Setup()
    {
        _kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 16L << 20, ValidateLocks = false });
        _mm = _kernel.CreateAddressSpace();
        _cpu = new CpuContext(_mm);
        if (_mm.Mmap(0, 4096, Prot.ReadWrite, MmapFlags.Private, out _va) != Errno.Ok || _cpu.Write(_va, 0L) != Errno.Ok)
        {
            throw new InvalidOperationException("setup failed");
        }

        _frame = (long*)_kernel.Memory.FrameAddress(_mm.GetPte(_va).Pfn);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cpu.Dispose();
        _mm.Dispose();
        _kernel.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops, Description = "Interlocked.Add on the arena frame")]
    public long RawInterlockedAdd()
    {
        long sum = 0;
        for (var i = 0; i < Ops; i++)
        {
            sum += Interlocked.Add(ref *_frame, 1);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Ops, Description = "CpuContext.AtomicAdd, TLB hit")]
    public long CpuContextAtomicAdd()
    {
        long sum = 0;
        for (var i = 0; i < Ops; i++)
        {
            _cpu.AtomicAdd(_va, 1L, out var v);
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Ops, Description = "CpuContext.Read<long>, TLB hit")]
    public long CpuContextRead()
    {
        long sum = 0;
        for (var i = 0; i < Ops; i++)
        {
            _cpu.Read(_va, out long v);
            sum += v;
        }

        return sum;
    }
}
