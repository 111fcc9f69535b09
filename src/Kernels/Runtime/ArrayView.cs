using System.Runtime.CompilerServices;

namespace Testbed.Kernels;

/// <summary>
/// A view of <see cref="Length"/> elements of accelerator memory, as kernels see it (ILGPU's
/// <c>ArrayView&lt;T&gt;</c>). On the Cpu accelerator it is a pointer into host memory and the indexer
/// returns a reference, so <c>Atomic.Add(ref view[i], 1)</c> works on the element itself; on OpenCL and
/// Cuda it identifies the device buffer and the generated kernel indexes it.
/// </summary>
public readonly unsafe struct ArrayView<T> : IArrayView
    where T : unmanaged
{
    private readonly T* _ptr;

    internal ArrayView(MemoryBuffer buffer, T* ptr, long offset, long length)
    {
        Buffer = buffer;
        _ptr = ptr;
        Offset = offset;
        Length = length;
    }

    /// <summary>Elements in the view.</summary>
    public long Length { get; }

    /// <summary>Elements in the view, as an int (kernels index with ints).</summary>
    public int IntLength => checked((int)Length);

    /// <summary>Bytes per element.</summary>
    public int ElementSize => sizeof(T);

    /// <summary>Whether the view is empty or default.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>The buffer the view belongs to.</summary>
    public MemoryBuffer? Buffer { get; }

    /// <summary>The first element's index in <see cref="Buffer"/>.</summary>
    public long Offset { get; }

    /// <summary>The element at <paramref name="index"/> (host memory only: the Cpu accelerator, or a host-mapped buffer).</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref this[(long)index];
    }

    /// <summary>The element at <paramref name="index"/>.</summary>
    public ref T this[long index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((ulong)index >= (ulong)Length)
            {
                ThrowOutOfRange(index);
            }

            if (_ptr == null)
            {
                ThrowNotHost();
            }

            return ref _ptr[index];
        }
    }

    /// <summary><paramref name="length"/> elements starting at <paramref name="offset"/>.</summary>
    public ArrayView<T> SubView(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"SubView: [{offset}, {offset + length}) is outside [0, {Length}).");
        }

        return new ArrayView<T>(Buffer!, _ptr == null ? null : _ptr + offset, Offset + offset, length);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the start of this view (host to device), synchronously:
    /// how a driver fills one page of device memory.
    /// </summary>
    public void CopyFromCPU(ReadOnlySpan<T> source)
    {
        var buffer = CheckCopy(source.Length, nameof(CopyFromCPU));
        fixed (T* p = source)
        {
            buffer.CopyFromHost((byte*)p, Offset * sizeof(T), (long)source.Length * sizeof(T));
        }
    }

    /// <summary>Copies the start of this view into <paramref name="destination"/> (device to host), synchronously.</summary>
    public void CopyToCPU(Span<T> destination)
    {
        var buffer = CheckCopy(destination.Length, nameof(CopyToCPU));
        fixed (T* p = destination)
        {
            buffer.CopyToHost((byte*)p, Offset * sizeof(T), (long)destination.Length * sizeof(T));
        }
    }

    /// <summary>The host address of the first element, or null when the memory is on a device only.</summary>
    internal T* HostPointer => _ptr;

    private MemoryBuffer CheckCopy(int elements, string operation)
    {
        if (Buffer is null)
        {
            throw new InvalidOperationException($"{operation}: the view belongs to no buffer.");
        }

        if (elements > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), $"{operation}: {elements} elements do not fit the view's {Length}.");
        }

        Buffer.CheckRange(Offset * sizeof(T), (long)elements * sizeof(T), operation);
        return Buffer;
    }

    private void ThrowOutOfRange(long index) =>
        throw new IndexOutOfRangeException($"ArrayView<{typeof(T).Name}>: index {index} is outside [0, {Length}).");

    private static void ThrowNotHost() =>
        throw new InvalidOperationException($"ArrayView<{typeof(T).Name}>: device memory cannot be indexed from the host; copy it back first.");
}
