using System.Runtime.CompilerServices;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Cpu;

/// <summary>
/// One CPU running in an address space: the only way scenario threads touch memory. Each access
/// translates the virtual address through a per-context software TLB (64 entries of 4 KiB and 8 of
/// 2 MiB, for transparent huge pages mapped by a PMD entry); a miss walks the page table
/// like the hardware walker (setting the accessed and dirty bits), and a walk that finds no
/// usable PTE enters the fault handler, then retries. The result of every access is an
/// <see cref="Errno"/>: -EFAULT where a real CPU would raise SIGSEGV, -EINVAL for a misaligned atomic
/// (SIGBUS on architectures without split locks), -ENOMEM when a fault could not allocate.
/// </summary>
/// <remarks>
/// <para>A context belongs to one thread at a time; it is not thread-safe. Dispose it to leave the
/// address space.</para>
/// <para>The TLB-hit path allocates nothing and takes no lock: it publishes that it is inside an
/// access with its TLB generation, checks the address space's generation, looks up the entry and
/// performs the access on the frame, then publishes that it left (see
/// <see cref="AddressSpace.FlushTlbRange"/> for why that is enough). Misses and faults happen
/// outside that window, so a flush never waits for a context that is blocked.</para>
/// </remarks>
public sealed unsafe partial class CpuContext : IDisposable
{
    private const int TlbEntries = 64;
    private const int HugeTlbEntries = 8;
    private readonly AddressSpace _mm;
    private readonly TlbEntry[] _tlb = new TlbEntry[TlbEntries];
    private readonly TlbEntry[] _hugeTlb = new TlbEntry[HugeTlbEntries];
    private readonly int _pageShift;
    private readonly int _hugeShift;
    private readonly ulong _offsetMask;
    private long _tlbGeneration;
    private long _inAccess;
    private bool _disposed;

    /// <summary>Attaches a new CPU to <paramref name="mm"/>, with an empty TLB.</summary>
    public CpuContext(AddressSpace mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        _mm = mm;
        _pageShift = mm.PageShift;
        _offsetMask = mm.PageMask;
        _hugeShift = System.Numerics.BitOperations.Log2(mm.PmdSize);
        mm.AttachCpu(this);
    }

    /// <summary>The address space this CPU runs in.</summary>
    public AddressSpace Mm => _mm;

    /// <summary>TLB misses (page-table walks) so far.</summary>
    public long TlbMisses { get; private set; }

    /// <summary>Faults this CPU entered so far.</summary>
    public long Faults { get; private set; }

    /// <summary>Leaves the address space.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _mm.DetachCpu(this);
        }
    }

    /// <summary>True if a flush of <paramref name="generation"/> need not wait for this CPU.</summary>
    internal bool HasQuiesced(long generation)
    {
        var state = Volatile.Read(ref _inAccess);
        return state == 0 || state >= generation;
    }

    /// <summary>
    /// Performs <paramref name="op"/> on the bytes at <paramref name="va"/>, which must not cross a page.
    /// The only loop every access goes through (internal so that tests can park an operation
    /// inside the access window and prove that a flush waits for it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Errno Access<TOp>(ulong va, bool write, ref TOp op)
        where TOp : IPageAccess, allows ref struct
    {
        while (true)
        {
            // Publish "in an access, using translations of generation _tlbGeneration" before reading the
            // current generation; FlushTlbRange's process-wide barrier provides the other half.
            Volatile.Write(ref _inAccess, _tlbGeneration);
            var generation = Volatile.Read(ref _mm.TlbGeneration);
            if (generation != _tlbGeneration)
            {
                FlushLocal(generation);
            }

            var p = Translate(_tlb, _pageShift, va, write);
            if (p == null)
            {
                p = Translate(_hugeTlb, _hugeShift, va, write);
            }

            if (p != null)
            {
                op.Apply(p);
                Volatile.Write(ref _inAccess, 0);
                return Errno.Ok;
            }

            Volatile.Write(ref _inAccess, 0);
            var err = Fill(va, write);
            if (err != Errno.Ok)
            {
                return err;
            }
        }
    }

    /// <summary>The address <paramref name="va"/> translates to through <paramref name="tlb"/>, whose entries map 2^<paramref name="shift"/> bytes, or null on a miss (or a read-only entry for a write).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Translate(TlbEntry[] tlb, int shift, ulong va, bool write)
    {
        var tag = va >> shift;
        ref var entry = ref tlb[(int)(tag & (ulong)(tlb.Length - 1))];
        return entry.Tag == tag + 1 && (entry.Writable || !write) ? entry.Frame + (va & ((1UL << shift) - 1)) : null;
    }

    private void FlushLocal(long generation)
    {
        Array.Clear(_tlb);
        Array.Clear(_hugeTlb);
        _tlbGeneration = generation;
        Volatile.Write(ref _inAccess, generation);
    }

    /// <summary>
    /// The page-table walk of a TLB miss, outside the access window: a usable PTE gets its accessed
    /// (and, for a write, dirty) bit and goes into the TLB; anything else faults and walks again.
    /// A translation inserted here is only used after the generation check of the next access.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Errno Fill(ulong va, bool write)
    {
        TlbMisses++;
        while (true)
        {
            if (_mm.PageTable.Find(va) is { } table)
            {
                // A huge PMD entry maps the whole span and goes into the 2 MiB TLB; else the PTE.
                var pmd = table.GetPmd();
                var huge = pmd.Kind != PteKind.None;
                var idx = huge ? PteTable.PmdSlot : _mm.PageTable.PteIndex(va);
                var pte = huge ? pmd : table.Get(idx);
                if (pte.Permits(write))
                {
                    var updated = pte.WithAccess(dirty: write);
                    if (updated != pte && !table.TryUpdateAccess(idx, pte, updated))
                    {
                        continue;
                    }

                    var (tlb, shift) = huge ? (_hugeTlb, _hugeShift) : (_tlb, _pageShift);
                    var tag = va >> shift;
                    tlb[(int)(tag & (ulong)(tlb.Length - 1))] = new TlbEntry
                    {
                        Tag = tag + 1,
                        Frame = _mm.Memory.FrameAddress(updated.Pfn),
                        Writable = updated.Write && updated.Dirty,
                    };
                    return Errno.Ok;
                }
            }

            Faults++;
            var err = _mm.HandleUserFault(va, write ? FaultFlags.Write : FaultFlags.None);
            if (err != Errno.Ok)
            {
                return err;
            }
        }
    }

    private struct TlbEntry
    {
        public ulong Tag;
        public byte* Frame;
        public bool Writable;
    }
}
