using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Migrate;

/// <summary>
/// <c>struct migrate_vma</c>: the arguments and results of one <c>MigrateVma*</c> sequence over
/// <c>[Start, End)</c> of one VMA. <see cref="Src"/> and <see cref="Dst"/> hold one
/// <see cref="MigratePfn"/> entry per page.
/// </summary>
public sealed class MigrateVma
{
    /// <summary>The VMA holding the range.</summary>
    public Vma? Vma { get; set; }

    /// <summary>First address (rounded down to a page).</summary>
    public ulong Start { get; set; }

    /// <summary>One past the last address (rounded down to a page).</summary>
    public ulong End { get; set; }

    /// <summary>Source entries, filled by setup; <see cref="MigratePfn.Migrate"/> marks what may move.</summary>
    public ulong[] Src { get; set; } = [];

    /// <summary>Destination entries, filled by the driver between setup and pages; destinations must be locked.</summary>
    public ulong[] Dst { get; set; } = [];

    /// <summary>The pgmap owner device pages must have to be selected; also the owner of the Migrate invalidation.</summary>
    public object? PgmapOwner { get; set; }

    /// <summary>Which pages to select.</summary>
    public MigrateVmaFlags Flags { get; set; }

    /// <summary>
    /// The device-private page whose CPU fault is being served (from <see cref="VmFault.Page"/>), or
    /// null. Under <see cref="SwapFaultLocking.Locked"/> it must be locked, and the migration code
    /// never locks or unlocks it; its fault's reference is allowed as an extra one.
    /// </summary>
    public Folio? FaultPage { get; set; }

    /// <summary>Pages collected (and, after setup, unmapped) for migration.</summary>
    public long Cpages { get; internal set; }

    /// <summary>Entries filled in <see cref="Src"/>.</summary>
    public long Npages { get; internal set; }
}
