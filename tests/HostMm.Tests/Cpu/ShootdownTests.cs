using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Cpu;

/// <summary>
/// The no-lost-update rule (DESIGN §2.3): once a call that removes or downgrades a translation
/// returns, no CPU writes through the old one, and every write that succeeded landed in the frame.
/// </summary>
public sealed class ShootdownTests
{
    public enum Revocation
    {
        Munmap,
        MprotectRead,
        MprotectNone,
    }

    [Theory]
    [InlineData(Revocation.Munmap)]
    [InlineData(Revocation.MprotectRead)]
    [InlineData(Revocation.MprotectNone)]
    public unsafe void No_write_lands_after_revocation_returns_and_every_successful_write_landed(Revocation how)
    {
        using var t = new MmFixture();
        for (var round = 0; round < 30; round++)
        {
            var a = t.Map(1);
            Assert.Equal(Errno.Ok, t.Cpu.Write(a, 0L));
            var frame = (long*)t.Kernel.Memory.FrameAddress(t.Mm.GetPte(a).Pfn);
            long succeeded = 0;
            using var started = new ManualResetEventSlim();
            var writer = TestThread.Run(() =>
            {
                using var cpu = new CpuContext(t.Mm);
                while (cpu.AtomicAdd(a, 1L, out _) == Errno.Ok)
                {
                    if (++succeeded == 100)
                    {
                        started.Set();
                    }
                }
            });
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            var err = how switch
            {
                Revocation.Munmap => t.Mm.Munmap(a, t.PageSize),
                Revocation.MprotectRead => t.Mm.Mprotect(a, t.PageSize, Prot.Read),
                _ => t.Mm.Mprotect(a, t.PageSize, Prot.None),
            };
            Assert.Equal(Errno.Ok, err);
            var atReturn = Volatile.Read(ref *frame);
            Assert.True(writer.Join(TimeSpan.FromSeconds(10)));
            Assert.Equal(atReturn, Volatile.Read(ref *frame));
            Assert.Equal(succeeded, atReturn);
            Assert.Equal(Errno.Ok, t.Mm.Munmap(a, t.PageSize));
        }
    }

    /// <summary>An access that parks inside the access window until released, then adds one.</summary>
    private unsafe struct ParkedAdd(ManualResetEventSlim inside, ManualResetEventSlim release) : IPageAccess
    {
        public void Apply(byte* p)
        {
            inside.Set();
            Assert.True(release.Wait(TimeSpan.FromSeconds(10)));
            Interlocked.Increment(ref *(long*)p);
        }
    }

    [Theory]
    [InlineData(Revocation.Munmap)]
    [InlineData(Revocation.MprotectRead)]
    public unsafe void Revocation_waits_for_a_cpu_inside_an_access_with_the_old_translation(Revocation how)
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 41L));
        var folio = t.Kernel.Memory.PfnToFolio(t.Mm.GetPte(a).Pfn);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var writer = TestThread.Run(() =>
        {
            using var cpu = new CpuContext(t.Mm);
            Assert.Equal(Errno.Ok, cpu.Read(a, out long _));
            Assert.Equal(Errno.Ok, cpu.Write(a, 41L));
            var op = new ParkedAdd(inside, release);
            return cpu.Access(a, write: true, ref op);
        });
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)));
        var revoke = TestThread.Run(() => how == Revocation.Munmap ? t.Mm.Munmap(a, t.PageSize) : t.Mm.Mprotect(a, t.PageSize, Prot.Read));
        Assert.False(revoke.Join(300));
        Assert.False(folio.IsFree);
        release.Set();
        Assert.Equal(Errno.Ok, writer.Result);
        Assert.Equal(Errno.Ok, revoke.Result);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.TlbFlushWait]);
        if (how == Revocation.Munmap)
        {
            Assert.True(folio.IsFree);
        }
        else
        {
            Assert.Equal(Errno.Ok, t.Cpu.Read(a, out long v));
            Assert.Equal(42L, v);
        }
    }

    [Fact]
    public void Flush_waits_only_for_cpus_inside_an_access_and_counts_them()
    {
        using var t = new MmFixture();
        using var idle = new CpuContext(t.Mm);
        var flushes = t.Kernel.Counters[MmEvent.TlbFlush];
        t.Mm.FlushTlbRange(0, t.PageSize);
        Assert.Equal(flushes + 1, t.Kernel.Counters[MmEvent.TlbFlush]);
        Assert.Equal(0, t.Kernel.Counters[MmEvent.TlbFlushWait]);
        Assert.Equal(2, t.Mm.CpuCount);
        Assert.True(t.Kernel.Counters[MmEvent.TlbRemoteFlush] > 0);
    }

    [Fact]
    public void A_flush_sends_no_ipi_when_no_cpu_runs_in_the_address_space()
    {
        using var t = new MmFixture();
        t.Cpu.Dispose();
        var (flushes, remote) = (t.Kernel.Counters[MmEvent.TlbFlush], t.Kernel.Counters[MmEvent.TlbRemoteFlush]);
        t.Mm.FlushTlbRange(0, t.PageSize);
        Assert.Equal(flushes + 1, t.Kernel.Counters[MmEvent.TlbFlush]);
        Assert.Equal(remote, t.Kernel.Counters[MmEvent.TlbRemoteFlush]);
        using (new CpuContext(t.Mm))
        {
            t.Mm.FlushTlbRange(0, t.PageSize);
        }

        Assert.Equal(remote + 1, t.Kernel.Counters[MmEvent.TlbRemoteFlush]);
    }

    /// <summary>
    /// The other side of the skipped IPI: contexts that attach while revocations run (each one does a
    /// single add and leaves, so the mask is often empty when a flush reads it) never write through a
    /// translation the revocation removed.
    /// </summary>
    [Fact]
    public unsafe void Cpus_attaching_during_a_flush_that_skips_the_ipi_never_write_through_the_old_translation()
    {
        using var t = new MmFixture();
        t.Cpu.Dispose();
        for (var round = 0; round < 50; round++)
        {
            var a = t.Map(1);
            long* frame;
            using (var cpu = new CpuContext(t.Mm))
            {
                Assert.Equal(Errno.Ok, cpu.Write(a, 0L));
                frame = (long*)t.Kernel.Memory.FrameAddress(t.Mm.GetPte(a).Pfn);
            }

            long succeeded = 0;
            var writer = TestThread.Run(() =>
            {
                while (true)
                {
                    using var cpu = new CpuContext(t.Mm);
                    if (cpu.AtomicAdd(a, 1L, out _) != Errno.Ok)
                    {
                        return 0;
                    }

                    Volatile.Write(ref succeeded, succeeded + 1);
                }
            });
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref succeeded) >= 20, TimeSpan.FromSeconds(10)));
            Assert.Equal(Errno.Ok, t.Mm.Munmap(a, t.PageSize));
            var atReturn = Volatile.Read(ref *frame);
            Assert.True(writer.Join(TimeSpan.FromSeconds(10)));
            Assert.Equal(atReturn, Volatile.Read(ref *frame));
            Assert.Equal(Volatile.Read(ref succeeded), atReturn);
        }
    }

    /// <summary>
    /// DESIGN's headline check: threads hammer shared counters with AtomicAdd while others
    /// mmap/munmap and mprotect the neighbouring ranges, drop them with MADV_DONTNEED, and fork
    /// children that write their copy-on-write pages. Every total must be exact.
    /// </summary>
    [Fact]
    public void Atomic_totals_stay_exact_under_munmap_mprotect_madvise_and_fork_of_neighbours()
    {
        using var t = new MmFixture(memoryBytes: 64L << 20);
        const int Pages = 8;
        const int WordsPerPage = 4;
        const int Workers = 3;
        const int MinOps = 40_000;
        const int MinRounds = 50;
        var priv = t.Map(Pages);
        var shared = t.Map(Pages, flags: MmapFlags.Shared);
        var neighbour = priv + (64 * t.PageSize);
        Assert.Equal(Errno.Ok, t.Mm.Mmap(neighbour, 4 * t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.FixedNoReplace, out _));

        ulong Word(ulong region, int i) => region + ((ulong)(i % Pages) * t.PageSize) + ((ulong)(i / Pages % WordsPerPage) * 8);

        using var stop = new CancellationTokenSource();
        var forks = 0;
        var neighbourRounds = 0;
        var adversaries = new[]
        {
            TestThread.Run(() =>
            {
                using var cpu = new CpuContext(t.Mm);
                while (!stop.IsCancellationRequested)
                {
                    Assert.Equal(Errno.Ok, t.Mm.Munmap(neighbour, 4 * t.PageSize));
                    Assert.Equal(Errno.Ok, t.Mm.Mmap(neighbour, 4 * t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _));
                    Assert.Equal(Errno.Ok, cpu.Write(neighbour + t.PageSize, 1L));
                    Assert.Equal(Errno.Ok, t.Mm.Mprotect(neighbour, 2 * t.PageSize, Prot.Read));
                    Assert.Equal(Errno.Ok, t.Mm.MadviseDontNeed(neighbour, 4 * t.PageSize));
                    Interlocked.Increment(ref neighbourRounds);
                }
            }),
            TestThread.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var child = t.Mm.ForkOk();
                    using var cpu = new CpuContext(child);
                    for (var i = 0; i < Pages * WordsPerPage; i++)
                    {
                        Assert.Equal(Errno.Ok, cpu.AtomicAdd(Word(priv, i), 1_000_000L, out _));
                    }

                    Interlocked.Increment(ref forks);
                }
            }),
        };

        // Each worker runs at least MinOps and until the adversaries have had MinRounds rounds each,
        // counting what it added per word.
        var workers = Enumerable.Range(0, Workers).Select(w => TestThread.Run(() =>
        {
            var added = new long[Pages * WordsPerPage];
            using var cpu = new CpuContext(t.Mm);
            for (var i = 0; i < MinOps || Volatile.Read(ref forks) < MinRounds || Volatile.Read(ref neighbourRounds) < MinRounds; i++)
            {
                var word = ((i * 7) + w) % added.Length;
                Assert.Equal(Errno.Ok, cpu.AtomicAdd(Word(priv, word), 1L, out _));
                Assert.Equal(Errno.Ok, cpu.AtomicAdd(Word(shared, word), 1, out int _));
                added[word]++;
            }

            return added;
        })).ToArray();
        var expected = new long[Pages * WordsPerPage];
        foreach (var worker in workers)
        {
            var added = worker.Result;
            for (var i = 0; i < expected.Length; i++)
            {
                expected[i] += added[i];
            }
        }

        stop.Cancel();
        Assert.All(adversaries, a => Assert.True(a.Join(TimeSpan.FromSeconds(60))));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(Errno.Ok, t.Cpu.Read(Word(priv, i), out long p));
            Assert.Equal(Errno.Ok, t.Cpu.Read(Word(shared, i), out int s));
            Assert.Equal(expected[i], p);
            Assert.Equal(expected[i], s);
        }

        Assert.True(forks >= MinRounds && neighbourRounds >= MinRounds);
        Assert.True(t.Kernel.Counters[MmEvent.FaultCowCopy] > 0);
        Assert.True(t.Kernel.Counters[MmEvent.TlbFlush] > 0);
    }
}
