namespace Testbed.HostMm.Mm;

/// <summary>
/// Resident-set counters of one address space (<c>mm-&gt;rss_stat</c>): pages mapped by its PTEs,
/// counted per type as <c>MM_ANONPAGES</c> and <c>MM_SHMEMPAGES</c>. The zero page is not counted.
/// </summary>
public sealed class RssCounters
{
    private long _anon;
    private long _shmem;

    /// <summary><c>MM_ANONPAGES</c>: private anonymous pages mapped.</summary>
    public long AnonPages => Volatile.Read(ref _anon);

    /// <summary><c>MM_SHMEMPAGES</c>: pages of shared anonymous mappings mapped.</summary>
    public long ShmemPages => Volatile.Read(ref _shmem);

    /// <summary>The resident set in pages.</summary>
    public long Total => AnonPages + ShmemPages;

    internal void Add(bool shmem, long pages)
    {
        if (shmem)
        {
            Interlocked.Add(ref _shmem, pages);
        }
        else
        {
            Interlocked.Add(ref _anon, pages);
        }
    }
}
