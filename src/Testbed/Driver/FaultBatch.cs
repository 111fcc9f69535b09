namespace Testbed.Driver;

/// <summary>
/// The faults one launch recorded, prepared for servicing as UVM prepares a fault batch: sorted by
/// address, duplicates coalesced into one fault per page with the strongest access. Reuses its
/// buffers, so preparing a batch allocates nothing.
/// </summary>
internal sealed class FaultBatch
{
    private readonly int[] _records;
    private readonly long[] _pages;
    private readonly FaultAccess[] _access;

    public FaultBatch(int capacity)
    {
        _records = new int[capacity];
        _pages = new long[capacity];
        _access = new FaultAccess[capacity];
    }

    /// <summary>Distinct faulting pages after <see cref="Load"/>.</summary>
    public int Count { get; private set; }

    /// <summary>The <paramref name="i"/>-th faulting page (ascending).</summary>
    public long Page(int i) => _pages[i];

    /// <summary>The strongest access any record asked of <see cref="Page"/>.</summary>
    public FaultAccess Access(int i) => _access[i];

    /// <summary>
    /// Takes records the device already sorted and coalesced (<c>DeviceFaultSorter</c>): one per page,
    /// ascending, each with the strongest access asked of its page.
    /// </summary>
    public void LoadSorted(ReadOnlySpan<int> records)
    {
        for (var i = 0; i < records.Length; i++)
        {
            _pages[i] = records[i] >> 2;
            _access[i] = (FaultAccess)(records[i] & 3);
        }

        Count = records.Length;
    }

    /// <summary>Sorts and coalesces fault records (<c>page * 4 + access</c>).</summary>
    public void Load(ReadOnlySpan<int> records)
    {
        var span = _records.AsSpan(0, records.Length);
        records.CopyTo(span);
        span.Sort();
        var n = 0;
        for (var i = 0; i < span.Length; i++)
        {
            var page = span[i] >> 2;
            var access = (FaultAccess)(span[i] & 3);
            if (n > 0 && _pages[n - 1] == page)
            {
                _access[n - 1] = access;
                continue;
            }

            _pages[n] = page;
            _access[n] = access;
            n++;
        }

        Count = n;
    }
}
