namespace Testbed.Kernels;

/// <summary>
/// A typed one-dimensional buffer (ILGPU's <c>MemoryBuffer1D&lt;T, Stride1D.Dense&gt;</c>): its
/// <see cref="View"/> is what kernels take, and the copy methods move data between it and the host.
/// </summary>
public sealed unsafe class MemoryBuffer1D<T> : IDisposable
    where T : unmanaged
{
    internal MemoryBuffer1D(MemoryBuffer buffer, long length)
    {
        Buffer = buffer;
        Length = length;
        View = new ArrayView<T>(buffer, (T*)buffer.HostPointer, 0, length);
    }

    /// <summary>Elements in the buffer.</summary>
    public long Length { get; }

    /// <summary>The whole buffer as a kernel argument.</summary>
    public ArrayView<T> View { get; }

    /// <summary>The untyped memory.</summary>
    public MemoryBuffer Buffer { get; }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer (host to device).</summary>
    public void CopyFromCPU(ReadOnlySpan<T> source)
    {
        Buffer.CheckRange(0, (long)source.Length * sizeof(T), nameof(CopyFromCPU));
        fixed (T* p = source)
        {
            Buffer.CopyFromHost((byte*)p, 0, (long)source.Length * sizeof(T));
        }
    }

    /// <summary>Copies the start of the buffer to <paramref name="destination"/> (device to host).</summary>
    public void CopyToCPU(Span<T> destination)
    {
        Buffer.CheckRange(0, (long)destination.Length * sizeof(T), nameof(CopyToCPU));
        fixed (T* p = destination)
        {
            Buffer.CopyToHost((byte*)p, 0, (long)destination.Length * sizeof(T));
        }
    }

    /// <summary>The whole buffer, copied to a new array.</summary>
    public T[] GetAsArray1D()
    {
        var result = new T[checked((int)Length)];
        CopyToCPU(result);
        return result;
    }

    /// <summary>
    /// Copies all of <paramref name="source"/> into this buffer on <paramref name="stream"/>, without
    /// waiting: device to device, or host to device / device to host when one side is a host-mapped
    /// (pinned) buffer from <see cref="Accelerator.MapHost{T}"/>. Synchronize the stream before using
    /// the result.
    /// </summary>
    public void CopyFrom(AcceleratorStream stream, MemoryBuffer1D<T> source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        if (source.Buffer.Accelerator != Buffer.Accelerator || stream.Accelerator != Buffer.Accelerator)
        {
            throw new ArgumentException("CopyFrom: the source, the destination and the stream must belong to one accelerator.", nameof(source));
        }

        source.Buffer.CheckRange(0, source.Length * sizeof(T), nameof(CopyFrom));
        Buffer.CheckRange(0, source.Length * sizeof(T), nameof(CopyFrom));
        Buffer.CopyFrom(source.Buffer, source.Length * sizeof(T), stream);
    }

    /// <summary>Copies all of <paramref name="source"/> into this buffer on the default stream and waits for it.</summary>
    public void CopyFrom(MemoryBuffer1D<T> source)
    {
        var stream = Buffer.Accelerator.DefaultStream;
        CopyFrom(stream, source);
        stream.Synchronize();
    }

    /// <summary>Zeroes the buffer.</summary>
    public void MemSetToZero()
    {
        Buffer.CheckRange(0, 0, nameof(MemSetToZero));
        Buffer.Clear();
    }

    /// <summary>Frees the buffer.</summary>
    public void Dispose() => Buffer.Dispose();
}
