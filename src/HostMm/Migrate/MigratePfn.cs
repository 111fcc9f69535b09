namespace Testbed.HostMm.Migrate;

/// <summary>
/// The <c>MIGRATE_PFN_*</c> encoding of the <see cref="MigrateVma.Src"/> and
/// <see cref="MigrateVma.Dst"/> arrays (include/linux/migrate.h): a frame number shifted left by
/// <see cref="Shift"/>, with flags in the low bits.
/// </summary>
public static class MigratePfn
{
    /// <summary>The entry holds a frame number.</summary>
    public const ulong Valid = 1 << 0;

    /// <summary>The page is (still) to be migrated.</summary>
    public const ulong Migrate = 1 << 1;

    /// <summary>The source was mapped writable.</summary>
    public const ulong Write = 1 << 3;

    /// <summary>
    /// <c>MIGRATE_PFN_COMPOUND</c>: in <see cref="MigrateVma.Src"/>, a THP (or an empty 2 MiB span)
    /// collected whole, its other 511 entries empty; in <see cref="MigrateVma.Dst"/>, a 2 MiB
    /// destination for it. A driver without one fills the 512 entries with small pages instead.
    /// </summary>
    public const ulong Compound = 1 << 4;

    /// <summary>How far the frame number is shifted.</summary>
    public const int Shift = 6;

    /// <summary><c>migrate_pfn()</c>: a valid entry for <paramref name="pfn"/>.</summary>
    public static ulong Make(long pfn) => ((ulong)pfn << Shift) | Valid;

    /// <summary>The frame of a valid entry, or -1 (<c>migrate_pfn_to_page()</c> returning NULL).</summary>
    public static long ToPfn(ulong entry) => (entry & Valid) != 0 ? (long)(entry >> Shift) : -1;
}
