namespace Testbed.HostMm.Mm;

/// <summary>
/// A PTE table lock kept across a run of per-page steps that mostly land in the same table, as
/// <c>migrate_vma_collect_pmd</c> keeps one across a PMD: entering the table already held costs
/// nothing, entering another releases the first (never two PTLs at once), and the caller releases
/// the last. The steps under it may drop folio references and unlock folios, which the kernel does
/// under a PTL too; they must not sleep.
/// </summary>
internal struct PtlHold
{
    private PteTable? _table;

    /// <summary>Holds <paramref name="table"/>'s lock, releasing the one held before if it is another table's.</summary>
    public void Enter(PteTable table)
    {
        if (_table == table)
        {
            return;
        }

        Release();
        table.Ptl.Acquire();
        _table = table;
    }

    /// <summary>Releases the lock held, if any.</summary>
    public void Release()
    {
        _table?.Ptl.Release();
        _table = null;
    }
}
