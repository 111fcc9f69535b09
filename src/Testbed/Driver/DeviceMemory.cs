using System.Runtime.InteropServices;
using Testbed.HostMm;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Runners;

namespace Testbed.Driver;

/// <summary>
/// A device's memory: one allocation on the accelerator, split into chunks and registered with
/// HostMm as ZONE_DEVICE frames with the device's owner (DESIGN §4.1). Device-private memory is a
/// plain accelerator allocation the CPU cannot address. Device-coherent memory is pinned host
/// memory mapped into the accelerator, which stands in for memory both sides address coherently
/// (CXL, NVLink-C2C); HostMm gets its CPU address.
/// </summary>
/// <remarks>
/// Frames are handed out chunk by chunk; a chunk's stamp records when it last gave out a frame, and
/// <see cref="VictimChunk"/> picks the chunk with the oldest stamp that still holds pages — UVM's
/// LRU of root chunks ordered by allocation, not by access.
/// </remarks>
internal sealed unsafe class DeviceMemory
{
    private readonly Lock _lock = new();
    private readonly PhysicalMemory _memory;
    private readonly Stack<int>[] _free;
    private readonly long[] _stamp;
    private readonly IDisposable _allocation;
    private readonly byte* _coherentHost;
    private long _clock;
    private int _current;
    private int _freeCount;

    private DeviceMemory(PhysicalMemory memory, ArrayView<int> words, IDisposable allocation, byte* coherentHost, int pages, int chunkPages)
    {
        _memory = memory;
        Words = words;
        _allocation = allocation;
        _coherentHost = coherentHost;
        ChunkPages = chunkPages;
        WordsPerPage = memory.PageSize / sizeof(int);
        _free = new Stack<int>[pages / chunkPages];
        _stamp = new long[_free.Length];
        _freeCount = pages;
        for (var c = 0; c < _free.Length; c++)
        {
            _free[c] = new Stack<int>(chunkPages);
            for (var f = ((c + 1) * chunkPages) - 1; f >= c * chunkPages; f--)
            {
                _free[c].Push(f);
            }
        }
    }

    /// <summary>The frames, as HostMm knows them.</summary>
    public DevPagemap Pagemap { get; private set; } = null!;

    /// <summary>The memory as kernels see it: 32-bit words, frame <c>f</c> at <c>f * WordsPerPage</c>.</summary>
    public ArrayView<int> Words { get; }

    /// <summary>Frames per chunk.</summary>
    public int ChunkPages { get; }

    /// <summary>Chunks.</summary>
    public int Chunks => _free.Length;

    /// <summary>32-bit words per frame.</summary>
    public int WordsPerPage { get; }

    /// <summary>Frames not in use.</summary>
    public int FreePages => Volatile.Read(ref _freeCount);

    /// <summary>Whether some chunk has every frame free (room for a 2 MiB device folio, <see cref="AllocHuge"/>).</summary>
    public bool HasFreeChunk
    {
        get
        {
            lock (_lock)
            {
                foreach (var chunk in _free)
                {
                    if (chunk.Count == ChunkPages)
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }

    /// <summary>
    /// Allocates <paramref name="pages"/> frames of <paramref name="kind"/> on <paramref name="runner"/>'s
    /// accelerator and registers them with <paramref name="memory"/>: -EINVAL from <c>MemremapPages</c>,
    /// -ENOMEM if the accelerator cannot allocate (or <see cref="FaultPoint.DeviceAlloc"/> says it cannot).
    /// </summary>
    public static Errno Create(KernelRunner runner, PhysicalMemory memory, PageKind kind, int pages, int chunkPages, object owner, IDevPagemapOps ops, out DeviceMemory? deviceMemory)
    {
        deviceMemory = null;
        if (memory.FaultInjection.ShouldFail(FaultPoint.DeviceAlloc))
        {
            return Errno.ENOMEM;
        }

        var bytes = (long)pages * memory.PageSize;
        byte* host = null;
        ArrayView<int> words;
        IDisposable allocation;
        try
        {
            if (kind == PageKind.DeviceCoherent)
            {
                host = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, (nuint)memory.PageSize);
                NativeMemory.Clear(host, (nuint)bytes);
                var mapping = runner.MapHost((int*)host, bytes / sizeof(int));
                (words, allocation) = (mapping.View, mapping);
            }
            else
            {
                var buffer = runner.Allocate1D<int>(bytes / sizeof(int));
                (words, allocation) = (buffer.View, buffer);
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or InvalidOperationException or AcceleratorException)
        {
            if (host != null)
            {
                NativeMemory.AlignedFree(host);
            }

            return Errno.ENOMEM;
        }

        var result = new DeviceMemory(memory, words, allocation, host, pages, chunkPages);
        var err = memory.MemremapPages(kind, pages, owner, ops, host, out var pagemap);
        if (err != Errno.Ok)
        {
            result.Release();
            return err;
        }

        result.Pagemap = pagemap!;
        deviceMemory = result;
        return Errno.Ok;
    }

    /// <summary>The frame index of <paramref name="pfn"/> within this memory.</summary>
    public long FrameOf(long pfn) => pfn - Pagemap.PfnBase;

    /// <summary>The words of frame <paramref name="frame"/>.</summary>
    public ArrayView<int> Frame(long frame) => Words.SubView(frame * WordsPerPage, WordsPerPage);

    /// <summary>
    /// A free frame for each entry of <paramref name="frames"/>, taken with <c>ZoneDeviceFolioInit</c>
    /// (one reference, locked), all under one hold of the lock, as UVM allocates a VA block's pages
    /// together. An entry is -1 when every frame is in use or its allocation failed
    /// (<see cref="FaultPoint.DeviceAlloc"/>). Frames come from the most recently used chunk that has
    /// one, in ascending order where they can be (a chunk freed page by page hands its frames back
    /// last-freed first), so that consecutive pages get consecutive frames and copy as one run.
    /// Frame numbers, not folios, come back: the caller needs the folio only where a copy fails.
    /// Returns how many frames were taken.
    /// </summary>
    public int Alloc(Span<long> frames)
    {
        // Every entry first: the caller reuses its array, and an entry past the point where the
        // frames ran out would otherwise keep a frame number from an earlier batch, which the
        // initialisation below would then take a second time.
        frames.Fill(-1);
        var taken = 0;
        lock (_lock)
        {
            var chunk = _current;
            for (var i = 0; i < frames.Length; i++)
            {
                if (_memory.FaultInjection.ShouldFail(FaultPoint.DeviceAlloc))
                {
                    continue;
                }

                for (var n = 0; n < _free.Length && _free[chunk].Count == 0; n++)
                {
                    chunk = (chunk + 1) % _free.Length;
                }

                if (!_free[chunk].TryPop(out var frame))
                {
                    break;
                }

                _current = chunk;
                _stamp[chunk] = ++_clock;
                _freeCount--;
                frames[i] = frame;
                taken++;
            }
        }

        if (frames.Length > 1 && frames[0] >= 0 && frames[^1] >= 0 && frames[0] > frames[^1])
        {
            frames.Reverse();
        }

        foreach (var frame in frames)
        {
            if (frame >= 0)
            {
                Pagemap.ZoneDeviceFolioInit(Folio(frame));
            }
        }

        return taken;
    }

    /// <summary>
    /// A 2 MiB device folio (order 9), taken with <c>ZoneDeviceFolioInit</c> (one reference, locked):
    /// the frames of a chunk with every frame free — the least recently stamped one, so fresh chunks
    /// go first. Returns its first frame, or -1 when no chunk is wholly free or the allocation failed
    /// (<see cref="FaultPoint.DeviceAlloc"/>). Chunks must be 512 pages.
    /// </summary>
    public long AllocHuge()
    {
        if (_memory.FaultInjection.ShouldFail(FaultPoint.DeviceAlloc))
        {
            return -1;
        }

        int chunk;
        lock (_lock)
        {
            chunk = -1;
            for (var c = 0; c < _free.Length; c++)
            {
                if (_free[c].Count == ChunkPages && (chunk < 0 || _stamp[c] < _stamp[chunk]))
                {
                    chunk = c;
                }
            }

            if (chunk < 0)
            {
                return -1;
            }

            _free[chunk].Clear();
            _stamp[chunk] = ++_clock;
            _freeCount -= ChunkPages;
        }

        var first = (long)chunk * ChunkPages;
        Pagemap.ZoneDeviceFolioInit(Folio(first), HostMm.Memory.PhysicalMemory.MaxOrder);
        return first;
    }

    /// <summary>The folio of frame <paramref name="frame"/>.</summary>
    public Folio Folio(long frame) => Pagemap.PfnToFolio(Pagemap.PfnBase + frame);

    /// <summary><c>folio_free</c>: the folio's frames (one, or 512 for a 2 MiB folio) are free again.</summary>
    public void Free(Folio folio)
    {
        var first = (int)FrameOf(folio.Pfn);
        lock (_lock)
        {
            for (var frame = first + folio.NrPages - 1; frame >= first; frame--)
            {
                _free[frame / ChunkPages].Push(frame);
            }

            _freeCount += folio.NrPages;
        }
    }

    /// <summary>The chunk that gave out a frame least recently among those holding pages, or -1 when every chunk is empty.</summary>
    public int VictimChunk()
    {
        lock (_lock)
        {
            var victim = -1;
            for (var c = 0; c < _free.Length; c++)
            {
                if (_free[c].Count < ChunkPages && (victim < 0 || _stamp[c] < _stamp[victim]))
                {
                    victim = c;
                }
            }

            return victim;
        }
    }

    /// <summary>Unregisters the frames (-EBUSY while any is in use) and frees the memory.</summary>
    public Errno Unregister()
    {
        var err = _memory.MemunmapPages(Pagemap);
        if (err == Errno.Ok)
        {
            Release();
        }

        return err;
    }

    private void Release()
    {
        _allocation.Dispose();
        if (_coherentHost != null)
        {
            NativeMemory.AlignedFree(_coherentHost);
        }
    }
}
