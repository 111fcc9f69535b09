using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Mm;

/// <summary>
/// One page-table entry, packed in 64 bits like the hardware's: the kind (present or one of the
/// swap-entry kinds HMM uses), the software and hardware bits, and a frame number. Entries are
/// read and written whole with volatile or interlocked operations, so the software MMU can walk
/// the table without the page-table lock exactly as the hardware walker does.
/// </summary>
/// <remarks>
/// <see cref="ProtNone"/> marks a present entry of a <c>PROT_NONE</c> mapping (<c>_PAGE_PROTNONE</c>):
/// the frame stays mapped for the kernel's bookkeeping but the walker refuses every access.
/// </remarks>
public readonly struct Pte : IEquatable<Pte>
{
    private const ulong KindMask = 0x7;
    private const ulong WriteBit = 1 << 3;
    private const ulong DirtyBit = 1 << 4;
    private const ulong YoungBit = 1 << 5;
    private const ulong SoftDirtyBit = 1 << 6;
    private const ulong ProtNoneBit = 1 << 7;
    private const int PfnShift = 12;

    private Pte(ulong raw) => Raw = raw;

    /// <summary>The empty entry.</summary>
    public static Pte None => default;

    /// <summary>The packed value.</summary>
    public ulong Raw { get; }

    /// <summary>The entry's kind.</summary>
    public PteKind Kind => (PteKind)(Raw & KindMask);

    /// <summary>The frame the entry points at (for every kind but <see cref="PteKind.None"/>).</summary>
    public long Pfn => (long)(Raw >> PfnShift);

    /// <summary>Writable (for swap-entry kinds: the write permission to restore).</summary>
    public bool Write => (Raw & WriteBit) != 0;

    /// <summary>Written through this entry since it was made (<c>pte_dirty()</c>).</summary>
    public bool Dirty => (Raw & DirtyBit) != 0;

    /// <summary>Accessed through this entry (<c>pte_young()</c>).</summary>
    public bool Young => (Raw & YoungBit) != 0;

    /// <summary>Soft-dirty (<c>pte_soft_dirty()</c>), cleared by the soft-dirty tracker.</summary>
    public bool SoftDirty => (Raw & SoftDirtyBit) != 0;

    /// <summary>Present but inaccessible (a <c>PROT_NONE</c> mapping).</summary>
    public bool ProtNone => (Raw & ProtNoneBit) != 0;

    /// <summary>Whether the walker may use the entry for an access: present, accessible, and writable for a write.</summary>
    public bool Permits(bool write)
    {
        var need = (ulong)PteKind.Present | (write ? WriteBit : 0);
        return (Raw & (KindMask | ProtNoneBit | (write ? WriteBit : 0))) == need;
    }

    /// <summary>A present entry (<c>mk_pte()</c>).</summary>
    public static Pte Present(long pfn, bool write, bool dirty = false, bool young = true, bool softDirty = true) =>
        Make(PteKind.Present, pfn, write, dirty, young, softDirty);

    /// <summary>A device-private swap entry for device frame <paramref name="pfn"/>.</summary>
    public static Pte DevicePrivate(long pfn, bool write) => Make(PteKind.DevicePrivate, pfn, write, false, false, false);

    /// <summary>A device-exclusive entry for system frame <paramref name="pfn"/>.</summary>
    public static Pte DeviceExclusive(long pfn, bool write) => Make(PteKind.DeviceExclusive, pfn, write, false, false, false);

    /// <summary>A migration entry for the frame being migrated.</summary>
    public static Pte Migration(long pfn, bool write) => Make(PteKind.Migration, pfn, write, false, false, false);

    /// <summary><c>pte_wrprotect()</c>.</summary>
    public Pte WithoutWrite() => new(Raw & ~WriteBit);

    /// <summary><c>pte_mkwrite(pte_mkdirty())</c>.</summary>
    public Pte WithWriteDirty() => new(Raw | WriteBit | DirtyBit);

    /// <summary><c>pte_mkyoung()</c>, and <c>pte_mkdirty()</c> when <paramref name="dirty"/>.</summary>
    public Pte WithAccess(bool dirty) => new(Raw | YoungBit | (dirty ? DirtyBit : 0));

    /// <summary>The entry with <c>PROT_NONE</c> set or cleared.</summary>
    public Pte WithProtNone(bool protNone) => new(protNone ? Raw | ProtNoneBit : Raw & ~ProtNoneBit);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Pte FromRaw(ulong raw) => new(raw);

    private static Pte Make(PteKind kind, long pfn, bool write, bool dirty, bool young, bool softDirty)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pfn);
        return new(((ulong)pfn << PfnShift) | (ulong)kind | (write ? WriteBit : 0) | (dirty ? DirtyBit : 0) |
                   (young ? YoungBit : 0) | (softDirty ? SoftDirtyBit : 0));
    }

    /// <inheritdoc/>
    public bool Equals(Pte other) => Raw == other.Raw;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Pte p && Equals(p);

    /// <inheritdoc/>
    public override int GetHashCode() => Raw.GetHashCode();

    /// <summary><c>pte_same()</c>.</summary>
    public static bool operator ==(Pte a, Pte b) => a.Raw == b.Raw;

    /// <summary>Not <c>pte_same()</c>.</summary>
    public static bool operator !=(Pte a, Pte b) => a.Raw != b.Raw;

    /// <inheritdoc/>
    public override string ToString() => Kind == PteKind.None
        ? "none"
        : $"{Kind}(pfn {Pfn}{(Write ? ", write" : "")}{(Dirty ? ", dirty" : "")}{(ProtNone ? ", protnone" : "")})";
}
