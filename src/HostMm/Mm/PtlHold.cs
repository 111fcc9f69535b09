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
    private PageTable? _pageTable;
    private ulong _pmd;

    /// <summary>
    /// The PTE table of <paramref name="pageTable"/> covering <paramref name="va"/>, with its lock
    /// held: the table already held when it covers <paramref name="va"/> (no walk, no lock taken),
    /// else the walk's, whose lock replaces the one held. Null, holding what was held, where no table
    /// was ever allocated.
    /// </summary>
    public PteTable? Enter(PageTable pageTable, ulong va)
    {
        var pmd = pageTable.PmdIndex(va);
        if (_table is not null && _pageTable == pageTable && _pmd == pmd)
        {
            return _table;
        }

        if (pageTable.Find(va) is not { } table)
        {
            return null;
        }

        Release();
        table.Ptl.Acquire();
        (_table, _pageTable, _pmd) = (table, pageTable, pmd);
        return table;
    }

    /// <summary>Releases the lock held, if any.</summary>
    public void Release()
    {
        _table?.Ptl.Release();
        (_table, _pageTable) = (null, null);
    }
}
