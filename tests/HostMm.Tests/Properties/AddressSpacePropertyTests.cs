using Testbed.HostMm.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Tests.Hmm;

namespace Testbed.HostMm.Tests.Properties;

/// <summary>
/// FsCheck properties: random sequences of address-space operations — mmap (fixed), munmap,
/// mprotect, madvise(DONTNEED), CPU reads and writes, migration of a page or of the whole window to
/// a device — on a 16-page window, run against the model and against a small reference model of what
/// each page must hold, whether it is mapped and writable, and where it lives. The same sequences
/// run on transparent huge pages: the 16 pages are spread 32 apart over a 2 MiB-aligned,
/// <c>MADV_HUGEPAGE</c> window that starts mapped whole, so a first write maps a THP, the range
/// operations split its PMD (and a one-page migration splits the folio), and a whole-window migration
/// moves it as one compound page. There a CPU touch of one page brings its whole device THP back,
/// so a page the reference places on the device may already be in system memory (never the reverse). Every operation's result must match the
/// reference's, every page must agree after the sequence, and the teardown audit must be clean.
/// A failing sequence is shrunk, then printed with the step that disagreed and FsCheck's seed to
/// replay it.
/// </summary>
public sealed class AddressSpacePropertyTests
{
    private const int Window = 16;

    /// <summary>One operation: what, on which pages, with which value.</summary>
    public sealed record Op(OpKind Kind, int Page, int Count, long Value)
    {
        public override string ToString() => $"{Kind}({Page}, {Count}{(Kind == OpKind.Write ? $", {Value}" : string.Empty)})";
    }

    public enum OpKind
    {
        Map,
        Unmap,
        ProtectRead,
        ProtectReadWrite,
        DontNeed,
        Write,
        Read,
        Migrate,
        MigrateAll,
    }

    /// <summary>
    /// Random operation sequences that shrink: a failing sequence is cut in halves, then loses one
    /// operation at a time, so the reported counterexample is short enough to read.
    /// </summary>
    private static Arbitrary<Op[]> Sequences
    {
        get
        {
            var op = Gen.Choose(0, Enum.GetValues<OpKind>().Length - 1).SelectMany(
                k => Gen.Choose(0, Window - 1).SelectMany(
                    p => Gen.Choose(1, 4).SelectMany(
                        c => Gen.Choose(1, 1_000_000).Select(v => new Op((OpKind)k, p, Math.Min(c, Window - p), v)))));
            return Arb.From(Gen.ListOf(op).Select(ops => ops.ToArray()), Shrink);
        }
    }

    [Fact]
    public void Every_sequence_agrees_with_the_reference_model() =>
        Prop.ForAll(Sequences, ops => Agrees(ops, thp: false)).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void Every_sequence_agrees_with_the_reference_model_on_transparent_huge_pages()
    {
        var seen = new long[Enum.GetValues<MmEvent>().Length];
        Prop.ForAll(Sequences, ops => Agrees(ops, thp: true, seen)).Check(Config.QuickThrowOnFailure.WithMaxTest(200));

        // The sequences did reach the THP paths: faults that map a THP, PMD splits, folio splits at
        // collect, and THPs moved whole.
        Assert.All(new[] { MmEvent.ThpFaultAlloc, MmEvent.ThpSplitPmd, MmEvent.ThpSplitPage, MmEvent.ThpMigrationSuccess }, e => Assert.True(seen[(int)e] > 0, $"{e} never happened"));
    }

    [Fact]
    public void A_failing_sequence_shrinks_to_the_operation_that_fails()
    {
        var failure = Assert.ThrowsAny<Exception>(() =>
            Prop.ForAll(Sequences, ops => !ops.Any(o => o.Kind == OpKind.Write && o.Page == 3)).Check(Config.QuickThrowOnFailure.WithMaxTest(1000)));

        // FsCheck prints the original counterexample, then the shrunk one; when the first failing
        // sequence is already the single write (0 shrinks) it prints only the original.
        var sequences = System.Text.RegularExpressions.Regex.Matches(failure.Message, @"\[\|.*?\|\]");
        Assert.NotEmpty(sequences);
        Assert.Matches(@"^\[\|Write\(3, \d+, \d+\)\|\]$", sequences[^1].Value);
        Assert.True(failure.Message.Contains("Shrunk:", StringComparison.Ordinal) || failure.Message.Contains("(0 shrinks)", StringComparison.Ordinal), failure.Message);
    }

    private static IEnumerable<Op[]> Shrink(Op[] ops)
    {
        if (ops.Length > 1)
        {
            yield return ops[..(ops.Length / 2)];
            yield return ops[(ops.Length / 2)..];
        }

        for (var i = 0; i < ops.Length; i++)
        {
            yield return [.. ops[..i], .. ops[(i + 1)..]];
        }
    }

    private static bool Agrees(Op[] ops, bool thp, long[]? seen = null)
    {
        using var t = new MmFixture(memoryBytes: 32L << 20);
        var stride = thp ? PteTable.Entries / Window : 1;
        var page = t.PageSize * (ulong)stride;
        var device = new Dmirror(t.Kernel, t.Mm, thp ? 2 * PteTable.Entries : 2 * Window);
        try
        {
            var window = MapWindow(t, thp);
            var reference = new Reference(mapped: thp);
            for (var i = 0; i < ops.Length; i++)
            {
                var o = ops[i];
                var va = window + ((ulong)o.Page * page);
                var len = (ulong)o.Count * page;
                var (expected, actual) = o.Kind switch
                {
                    OpKind.Map => (reference.Map(o.Page, o.Count), Map(t, va, len, thp)),
                    OpKind.Unmap => (reference.Unmap(o.Page, o.Count), t.Mm.Munmap(va, len)),
                    OpKind.ProtectRead => (reference.Protect(o.Page, o.Count, writable: false), t.Mm.Mprotect(va, len, Prot.Read)),
                    OpKind.ProtectReadWrite => (reference.Protect(o.Page, o.Count, writable: true), t.Mm.Mprotect(va, len, Prot.ReadWrite)),
                    OpKind.DontNeed => (reference.DontNeed(o.Page, o.Count), t.Mm.MadviseDontNeed(va, len)),
                    OpKind.Write => (reference.Write(o.Page, o.Value), t.Cpu.Write(va, o.Value)),
                    OpKind.Migrate => (reference.Migrate(o.Page), device.MigrateToDevice(va, 1)),
                    OpKind.MigrateAll => (reference.MigrateAll(), device.MigrateToDevice(window, (ulong)(Window * stride))),
                    _ => ReadBoth(reference, t, o.Page, va),
                };
                Assert.True(expected == actual, $"step {i}, {o}: the model returned {actual}, the reference {expected}");
            }

            for (var p = 0; p < Window; p++)
            {
                var va = window + ((ulong)p * page);
                var where = t.Mm.GetPte(va).Kind == PteKind.DevicePrivate || t.Mm.GetPmd(va).Kind == PteKind.DevicePrivate;

                // A CPU touch of one page of a device THP brings the whole THP back, which the
                // per-page reference does not model: on THP a page may be back early, never late.
                Assert.True(reference.OnDevice(p) == where || (thp && !where), $"page {p}: on the device is {where}, the reference says {reference.OnDevice(p)}");
                var (expected, actual) = ReadBoth(reference, t, p, va);
                Assert.True(expected == actual, $"final read of page {p}: {actual}, the reference {expected}");
            }

            foreach (var e in seen is null ? [] : Enum.GetValues<MmEvent>())
            {
                seen![(int)e] += t.Kernel.Counters[e];
            }

            return true;
        }
        finally
        {
            device.Remove();
        }
    }

    /// <summary>The window: unmapped, or (THP) mapped whole, 2 MiB-aligned and <c>MADV_HUGEPAGE</c>.</summary>
    private static ulong MapWindow(MmFixture t, bool thp)
    {
        var huge = t.Mm.PmdSize;
        Assert.Equal(Errno.Ok, t.Mm.Mmap(0, 2 * huge, Prot.ReadWrite, MmapFlags.Private, out var addr));
        Assert.Equal(Errno.Ok, t.Mm.Munmap(addr, 2 * huge));
        var window = (addr + huge - 1) & ~(huge - 1);
        if (thp)
        {
            Assert.Equal(Errno.Ok, Map(t, window, huge, thp));
        }

        return window;
    }

    /// <summary>mmap (fixed) of the range, and <c>MADV_HUGEPAGE</c> on it for the THP runs.</summary>
    private static Errno Map(MmFixture t, ulong va, ulong len, bool thp)
    {
        var err = t.Mm.Mmap(va, len, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _);
        return err != Errno.Ok || !thp ? err : t.Mm.MadviseHugePage(va, len, HugePageAdvice.HugePage);
    }

    /// <summary>Reads word 0 of the page through the CPU and compares the value with the reference's.</summary>
    private static (Errno Expected, Errno Actual) ReadBoth(Reference reference, MmFixture t, int page, ulong va)
    {
        var expected = reference.Read(page, out var want);
        var actual = t.Cpu.Read(va, out long got);
        Assert.True(actual != Errno.Ok || got == want, $"page {page} reads {got}, the reference says {want}");
        return (expected, actual);
    }

    /// <summary>What each page must be: mapped, writable, its first word, and whether it lives on the device.</summary>
    private sealed class Reference
    {
        private readonly bool[] _mapped = new bool[Window];
        private readonly bool[] _writable = new bool[Window];
        private readonly long[] _value = new long[Window];
        private readonly bool[] _device = new bool[Window];

        /// <summary>A window that starts unmapped, or mapped and writable.</summary>
        public Reference(bool mapped)
        {
            Array.Fill(_mapped, mapped);
            Array.Fill(_writable, mapped);
        }

        public bool OnDevice(int p) => _device[p];

        public Errno Map(int first, int count)
        {
            for (var p = first; p < first + count; p++)
            {
                (_mapped[p], _writable[p], _value[p], _device[p]) = (true, true, 0, false);
            }

            return Errno.Ok;
        }

        public Errno Unmap(int first, int count)
        {
            for (var p = first; p < first + count; p++)
            {
                (_mapped[p], _value[p], _device[p]) = (false, 0, false);
            }

            return Errno.Ok;
        }

        /// <summary>mprotect changes nothing unless every page is mapped (-ENOMEM).</summary>
        public Errno Protect(int first, int count, bool writable)
        {
            if (!AllMapped(first, count))
            {
                return Errno.ENOMEM;
            }

            for (var p = first; p < first + count; p++)
            {
                _writable[p] = writable;
            }

            return Errno.Ok;
        }

        /// <summary>MADV_DONTNEED drops the mapped pages (device ones too) and says -ENOMEM for the holes.</summary>
        public Errno DontNeed(int first, int count)
        {
            for (var p = first; p < first + count; p++)
            {
                if (_mapped[p])
                {
                    (_value[p], _device[p]) = (0, false);
                }
            }

            return AllMapped(first, count) ? Errno.Ok : Errno.ENOMEM;
        }

        /// <summary>A CPU write: -EFAULT without a VMA or write permission; a device page comes back first.</summary>
        public Errno Write(int p, long value)
        {
            if (!_mapped[p] || !_writable[p])
            {
                return Errno.EFAULT;
            }

            (_value[p], _device[p]) = (value, false);
            return Errno.Ok;
        }

        /// <summary>A CPU read: -EFAULT without a VMA; a device page comes back to system memory.</summary>
        public Errno Read(int p, out long value)
        {
            value = _value[p];
            if (!_mapped[p])
            {
                return Errno.EFAULT;
            }

            _device[p] = false;
            return Errno.Ok;
        }

        /// <summary>dmirror's migrate-to-device: -EINVAL without a VMA; the page moves, bytes and all.</summary>
        public Errno Migrate(int p)
        {
            if (!_mapped[p])
            {
                return Errno.EINVAL;
            }

            _device[p] = true;
            return Errno.Ok;
        }

        /// <summary>dmirror's migrate-to-device of the whole window: VMA by VMA, every page up to the first hole moves; -EINVAL at a hole.</summary>
        public Errno MigrateAll()
        {
            for (var p = 0; p < Window; p++)
            {
                if (!_mapped[p])
                {
                    return Errno.EINVAL;
                }

                _device[p] = true;
            }

            return Errno.Ok;
        }

        private bool AllMapped(int first, int count)
        {
            for (var p = first; p < first + count; p++)
            {
                if (!_mapped[p])
                {
                    return false;
                }
            }

            return true;
        }
    }
}
