using System.Buffers;
using Testbed.HostMm;
using Testbed.HostMm.Migrate;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    /// <summary>
    /// Evicts chunks until <paramref name="pages"/> frames are free — and, with
    /// <paramref name="wholeChunk"/>, one chunk is wholly free for a 2 MiB device folio — or nothing
    /// more can be evicted. Called with no driver lock held: eviction's invalidations take the mutex
    /// (seed 004).
    /// </summary>
    private void EnsureFreePages(int pages, bool wholeChunk = false)
    {
        for (var tries = 0; tries < _memory.Chunks && (_memory.FreePages < pages || (wholeChunk && !_memory.HasFreeChunk)); tries++)
        {
            var victim = _memory.VictimChunk();
            if (victim < 0 || EvictChunk(victim) == 0)
            {
                return;
            }
        }
    }

    /// <summary>Evicts every device page to system memory (teardown, and tests); returns how many moved.</summary>
    public long EvictAll()
    {
        var moved = 0L;
        for (var c = 0; c < _memory.Chunks; c++)
        {
            moved += EvictChunk(c);
        }

        return moved;
    }

    /// <summary>
    /// <c>dmirror_device_evict_chunk</c> / UVM's root-chunk eviction: moves every page of chunk
    /// <paramref name="chunk"/> to system memory with <c>MigrateDeviceRange</c>, which works from frame
    /// numbers and the reverse map alone — no VMA, no mmap lock. The CPU-side unmap fires
    /// <c>Clear</c> invalidations, so the callback zaps this device's entries and waits for launches
    /// before any byte is copied. Pages that are locked or pinned right now stay; returns how many moved.
    /// </summary>
    private long EvictChunk(int chunk)
    {
        Activity = "evicting a chunk: MigrateDeviceRange";
        var n = _memory.ChunkPages;
        var src = ArrayPool<ulong>.Shared.Rent(n);
        var dst = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            Array.Clear(dst, 0, n);
            return MigrateDevice.MigrateDeviceRange(_kernel, src, Pagemap.PfnBase + ((long)chunk * n), n) == Errno.Ok ? EvictCollected(src, dst, n) : 0;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(src);
            ArrayPool<ulong>.Shared.Return(dst);
        }
    }

    /// <summary>Copies, moves and finalizes the <paramref name="n"/> frames <c>MigrateDeviceRange</c> collected; returns how many moved.</summary>
    private long EvictCollected(ulong[] src, ulong[] dst, int n)
    {
        CopyToRam(src, dst, n);
        MigrateDevice.MigrateDevicePages(_kernel, src, dst, n);
        var moved = 0L;
        for (var i = 0; i < n; i++)
        {
            moved += (src[i] & MigratePfn.Migrate) != 0 && MigratePfn.ToPfn(dst[i]) >= 0 ? PagesOf(dst[i]) : 0;
        }

        MigrateDevice.MigrateDeviceFinalize(_kernel, src, dst, n);
        if (moved > 0)
        {
            Counters.Evicted(moved);
            Counters.MigratedToRam(moved);
        }

        return moved;
    }
}
