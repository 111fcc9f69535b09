namespace Testbed.Kernels;

/// <summary>
/// Untyped accelerator memory: what a backend allocates (native memory on the Cpu, a <c>cl_mem</c>,
/// a CUDA device pointer) or maps (an existing pinned host range, such as HostMm's arena). Typed
/// access goes through <see cref="MemoryBuffer1D{T}"/>.
/// </summary>
public abstract unsafe class MemoryBuffer : IDisposable
{
    /// <summary>Creates the bookkeeping for <paramref name="lengthInBytes"/> bytes on <paramref name="accelerator"/>.</summary>
    protected MemoryBuffer(Accelerator accelerator, long lengthInBytes, bool hostMapped)
    {
        Accelerator = accelerator;
        LengthInBytes = lengthInBytes;
        IsHostMapped = hostMapped;
    }

    /// <summary>The accelerator the memory belongs to.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Size in bytes.</summary>
    public long LengthInBytes { get; }

    /// <summary>Whether the buffer maps existing host memory rather than owning device memory.</summary>
    public bool IsHostMapped { get; }

    /// <summary>Whether <see cref="Dispose()"/> ran.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>The host address of the first byte, or null for memory only the device reaches.</summary>
    internal abstract byte* HostPointer { get; }

    /// <summary>Copies <paramref name="bytes"/> from host memory at <paramref name="source"/> to <paramref name="offset"/>.</summary>
    internal abstract void CopyFromHost(byte* source, long offset, long bytes);

    /// <summary>Copies <paramref name="bytes"/> at <paramref name="offset"/> to host memory at <paramref name="destination"/>.</summary>
    internal abstract void CopyToHost(byte* destination, long offset, long bytes);

    /// <summary>
    /// Queues a copy of <paramref name="bytes"/> from the start of <paramref name="source"/> (a buffer of
    /// the same accelerator: device memory or a host mapping) to the start of this one on
    /// <paramref name="stream"/>; it is complete once the stream is synchronized.
    /// </summary>
    internal abstract void CopyFrom(MemoryBuffer source, long bytes, AcceleratorStream stream);

    /// <summary>Sets every byte to zero.</summary>
    internal abstract void Clear();

    /// <summary>Frees what the buffer owns (a mapped range is only unmapped).</summary>
    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            DisposeNative();
            if (IsHostMapped)
            {
                Accelerator.ForgetHostMapping(this);
            }

            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Frees the backend's memory.</summary>
    protected abstract void DisposeNative();

    /// <summary>Throws if the buffer was disposed or [offset, offset + bytes) is outside it.</summary>
    internal void CheckRange(long offset, long bytes, string operation)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (offset < 0 || bytes < 0 || offset + bytes > LengthInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"{operation}: [{offset}, {offset + bytes}) is outside the buffer's {LengthInBytes} bytes.");
        }
    }
}
