namespace Testbed.HostMm.Memory;

/// <summary>
/// The buddy allocator of mm/page_alloc.c over frame numbers: one free list per order, blocks split
/// on allocation and merged with their buddy (<c>pfn ^ (1 &lt;&lt; order)</c>) on free. Free lists
/// are intrusive doubly linked lists threaded through per-frame arrays, so allocation and free
/// allocate nothing. Not thread-safe: <see cref="PhysicalMemory"/> serialises it under the zone lock.
/// </summary>
internal sealed class BuddyAllocator
{
    private const int None = -1;
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly sbyte[] _freeOrder;
    private readonly int[] _heads;
    private readonly int _frames;

    public BuddyAllocator(int frames, int maxOrder)
    {
        _frames = frames;
        MaxOrder = maxOrder;
        _next = new int[frames];
        _prev = new int[frames];
        _freeOrder = new sbyte[frames];
        Array.Fill(_freeOrder, (sbyte)None);
        _heads = new int[maxOrder + 1];
        Array.Fill(_heads, None);
        for (var pfn = 0; pfn < frames;)
        {
            var order = maxOrder;
            while (order > 0 && ((pfn & ((1 << order) - 1)) != 0 || pfn + (1 << order) > frames))
            {
                order--;
            }

            Insert(pfn, order);
            FreeFrames += 1 << order;
            pfn += 1 << order;
        }
    }

    public int MaxOrder { get; }

    public long FreeFrames { get; private set; }

    /// <summary>Number of free blocks of exactly <paramref name="order"/>.</summary>
    public int FreeBlocks(int order)
    {
        var n = 0;
        for (var p = _heads[order]; p != None; p = _next[p])
        {
            n++;
        }

        return n;
    }

    /// <summary>Takes a block of 2^order frames; returns its first frame, or -1 when none is free.</summary>
    public int Alloc(int order)
    {
        for (var o = order; o <= MaxOrder; o++)
        {
            var pfn = _heads[o];
            if (pfn == None)
            {
                continue;
            }

            Remove(pfn, o);
            while (o > order)
            {
                o--;
                Insert(pfn + (1 << o), o);
            }

            FreeFrames -= 1 << order;
            return pfn;
        }

        return None;
    }

    /// <summary>Returns a block, merging it with free buddies as far as they go.</summary>
    public void Free(int pfn, int order)
    {
        FreeFrames += 1 << order;
        while (order < MaxOrder)
        {
            var buddy = pfn ^ (1 << order);
            if (buddy >= _frames || _freeOrder[buddy] != order)
            {
                break;
            }

            Remove(buddy, order);
            pfn = Math.Min(pfn, buddy);
            order++;
        }

        Insert(pfn, order);
    }

    private void Insert(int pfn, int order)
    {
        var head = _heads[order];
        _next[pfn] = head;
        _prev[pfn] = None;
        if (head != None)
        {
            _prev[head] = pfn;
        }

        _heads[order] = pfn;
        _freeOrder[pfn] = (sbyte)order;
    }

    private void Remove(int pfn, int order)
    {
        var next = _next[pfn];
        var prev = _prev[pfn];
        if (prev == None)
        {
            _heads[order] = next;
        }
        else
        {
            _next[prev] = next;
        }

        if (next != None)
        {
            _prev[next] = prev;
        }

        _freeOrder[pfn] = None;
    }
}
