using System.Diagnostics;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Mm;

namespace Testbed;

/// <summary>
/// The main job until the scenario CLI lands: CPU threads do atomics on private and shared
/// counters while an adversary thread maps, unmaps, write-protects and drops the neighbouring
/// range and another forks children that scribble on their copy-on-write pages. It checks the
/// totals are exact, every frame is free at teardown and the lock validator stayed silent.
/// </summary>
internal static class HostMmDemo
{
    private const int Pages = 16;
    private const int Workers = 2;
    private const int OpsPerWorker = 1_000_000;

    public static int Run(TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        using var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 64L << 20 });
        var mm = kernel.CreateAddressSpace();
        var page = (ulong)mm.PageSize;
        Check(mm.Mmap(0, Pages * page, Prot.ReadWrite, MmapFlags.Private, out var priv));
        Check(mm.Mmap(0, Pages * page, Prot.ReadWrite, MmapFlags.Shared, out var shared));
        var neighbour = shared + (Pages * page) + (64 * page);
        Check(mm.Mmap(neighbour, 4 * page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.FixedNoReplace, out _));

        using var stop = new CancellationTokenSource();
        var forks = 0;
        var adversaries = new[]
        {
            Start(() =>
            {
                using var cpu = new CpuContext(mm);
                while (!stop.IsCancellationRequested)
                {
                    Check(mm.Munmap(neighbour, 4 * page));
                    Check(mm.Mmap(neighbour, 4 * page, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _));
                    Check(cpu.Write(neighbour, 1L));
                    Check(mm.Mprotect(neighbour, 2 * page, Prot.Read));
                    Check(mm.MadviseDontNeed(neighbour, 4 * page));
                }
            }),
            Start(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Check(mm.Fork(out var forked));
                    using var child = forked!;
                    using var cpu = new CpuContext(child);
                    for (ulong p = 0; p < Pages; p++)
                    {
                        Check(cpu.AtomicAdd(priv + (p * page), 1_000_000L, out _));
                    }

                    forks++;
                }
            }),
        };
        var workers = Enumerable.Range(0, Workers).Select(_ => Start(() =>
        {
            using var cpu = new CpuContext(mm);
            for (var i = 0; i < OpsPerWorker; i++)
            {
                var p = (ulong)(i % Pages) * page;
                Check(cpu.AtomicAdd(priv + p, 1L, out long _));
                Check(cpu.AtomicAdd(shared + p, 1L, out long _));
            }
        })).ToArray();
        Array.ForEach(workers, t => t.Join());
        stop.Cancel();
        Array.ForEach(adversaries, t => t.Join());

        long privTotal = 0, sharedTotal = 0;
        using (var cpu = new CpuContext(mm))
        {
            for (ulong p = 0; p < Pages; p++)
            {
                Check(cpu.Read(priv + (p * page), out long a));
                Check(cpu.Read(shared + (p * page), out long b));
                privTotal += a;
                sharedTotal += b;
            }
        }

        mm.Dispose();
        const long expected = (long)Workers * OpsPerWorker;
        var c = kernel.Counters;
        output.WriteLine($"HostMm demo: {Workers} CPU threads x {OpsPerWorker:N0} atomic adds on {Pages} private + {Pages} shared pages,");
        output.WriteLine($"racing mmap/munmap/mprotect/madvise of a neighbour and {forks} forks whose children write their COW copies.");
        output.WriteLine($"  private total   {privTotal,12:N0}  expected {expected:N0}");
        output.WriteLine($"  shared total    {sharedTotal,12:N0}  expected {expected:N0}");
        output.WriteLine($"  faults          anon {c[MmEvent.FaultAnonymous]:N0}, zero {c[MmEvent.FaultZeroPage]:N0}, cow {c[MmEvent.FaultCowCopy]:N0}, reuse {c[MmEvent.FaultWpReuse]:N0}, shared {c[MmEvent.FaultShared]:N0}, segv {c[MmEvent.FaultSegv]:N0}");
        output.WriteLine($"  tlb flushes     {c[MmEvent.TlbFlush]:N0} (waited for {c[MmEvent.TlbFlushWait]:N0} CPUs in an access)");
        output.WriteLine($"  frames leaked   {kernel.FramesInUse}");
        output.WriteLine($"  lock validator  {(kernel.Sync.Validator.Report is { } r ? r.ToString() : $"silent ({kernel.Sync.Validator.DependencyCount} lock-order dependencies checked)")}");
        output.WriteLine($"  time            {clock.Elapsed.TotalSeconds:F1} s");
        var held = privTotal == expected && sharedTotal == expected && kernel.FramesInUse == 0 && kernel.Sync.Validator.Report is null;
        output.WriteLine(held ? "PASS: no update lost, no frame leaked, no lock-order problem." : "FAIL: an invariant did not hold (see above).");
        return held ? 0 : 1;
    }

    private static Thread Start(Action body)
    {
        var t = new Thread(() => body()) { IsBackground = true };
        t.Start();
        return t;
    }

    private static void Check(Errno err)
    {
        if (err != Errno.Ok)
        {
            throw new InvalidOperationException($"demo: unexpected {err}");
        }
    }
}
