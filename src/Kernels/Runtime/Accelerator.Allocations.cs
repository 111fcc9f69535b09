namespace Testbed.Kernels;

public abstract partial class Accelerator
{
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
        return new MemoryBuffer1D<T>(MapHostRaw((byte*)pointer, checked(length * sizeof(T))), length);
    }

    /// <summary>Allocates zeroed device memory.</summary>
    protected abstract MemoryBuffer AllocateRaw(long bytes);

    /// <summary>Maps existing host memory.</summary>
    protected abstract unsafe MemoryBuffer MapHostRaw(byte* pointer, long bytes);
}
