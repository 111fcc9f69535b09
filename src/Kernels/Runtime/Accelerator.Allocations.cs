namespace Testbed.Kernels;

public abstract partial class Accelerator
{
    private readonly Lock _hostMappingsLock = new();
    private readonly List<MemoryBuffer> _hostMappings = [];
    private (nuint Start, nuint End)[]? _hostRanges;

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    public unsafe MemoryBuffer1D<T> Allocate1D<T>(long length)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new MemoryBuffer1D<T>(AllocateRaw(checked(length * sizeof(T))), length);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public MemoryBuffer1D<T> Allocate1D<T>(T[] data)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        var buffer = Allocate1D<T>(data.Length);
        buffer.CopyFromCPU(data);
        return buffer;
    }

    /// <summary>
    /// Maps <paramref name="length"/> elements of existing, pinned host memory (such as HostMm's
    /// arena) so kernels reach it directly (<c>CL_MEM_USE_HOST_PTR</c>, <c>cuMemHostRegister</c>). The
    /// memory must outlive the buffer; disposing the buffer unmaps it and frees nothing.
    /// </summary>
    public unsafe MemoryBuffer1D<T> MapHost<T>(T* pointer, long length)
        where T : unmanaged
    {
        if (pointer == null)
        {
            throw new ArgumentNullException(nameof(pointer), "MapHost: null host pointer.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var buffer = MapHostRaw((byte*)pointer, checked(length * sizeof(T)));
        lock (_hostMappingsLock)
        {
            _hostMappings.Add(buffer);
            _hostRanges = null;
        }

        return new MemoryBuffer1D<T>(buffer, length);
    }

    /// <summary>
    /// The host ranges mapped into this accelerator and not yet disposed, made again only after a
    /// mapping came or went, so a launch that asks allocates nothing; callers must not change it.
    /// </summary>
    internal unsafe (nuint Start, nuint End)[] HostMappedRanges()
    {
        lock (_hostMappingsLock)
        {
            return _hostRanges ??= [.. _hostMappings.Select(b => ((nuint)b.HostPointer, (nuint)b.HostPointer + (nuint)b.LengthInBytes))];
        }
    }

    /// <summary>Called when a host mapping is disposed.</summary>
    internal void ForgetHostMapping(MemoryBuffer buffer)
    {
        lock (_hostMappingsLock)
        {
            _hostMappings.Remove(buffer);
            _hostRanges = null;
        }
    }

    /// <summary>Allocates zeroed device memory.</summary>
    protected abstract MemoryBuffer AllocateRaw(long bytes);

    /// <summary>Maps existing host memory.</summary>
    protected abstract unsafe MemoryBuffer MapHostRaw(byte* pointer, long bytes);
}
