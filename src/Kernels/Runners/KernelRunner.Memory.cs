using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.HostMemory;

namespace Testbed.Kernels.Runners;

public abstract partial class KernelRunner
{
    /// <summary>Allocates <paramref name="length"/> zeroed elements of the runner's memory.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate1D<T>(long length)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var buffer = Accelerator.Allocate1D<T>(length);
        Clear<T>(buffer.View);
        return buffer;
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate1D<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var buffer = Allocate1D<T>(data.Length);
        CopyFromCPU<T>(buffer.View, data);
        return buffer;
    }

    /// <summary>
    /// Maps <paramref name="length"/> elements of existing, pinned host memory (such as HostMm's
    /// arena) so kernels reach it in place: a view of CPU memory on the CPU accelerators, a range
    /// registered with the device (<c>cuMemHostRegister</c>) on Cuda, a <c>CL_MEM_USE_HOST_PTR</c>
    /// buffer on OpenCL. The memory must outlive the mapping; disposing it unmaps and frees nothing.
    /// </summary>
    public unsafe HostMapping<T> MapHost<T>(T* pointer, long length)
        where T : unmanaged
    {
        if (pointer == null)
        {
            throw new ArgumentNullException(nameof(pointer), "MapHost: null host pointer.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new HostMapping<T>(MapHostBuffer((IntPtr)pointer, length, sizeof(T)), length);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the start of <paramref name="target"/> and waits for it.
    /// Memory the host can address (the CPU accelerators' memory, host mappings) is copied with one
    /// <c>memcpy</c>, allocating nothing; device memory goes through ILGPU's copy on the default stream.
    /// </summary>
    public void CopyFromCPU<T>(ArrayView<T> target, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        if (Reach(target, source.Length, nameof(CopyFromCPU)) is var host && host != IntPtr.Zero)
        {
            MemoryMarshal.AsBytes(source).CopyTo(Bytes(host, (long)source.Length * Unsafe.SizeOf<T>()));
            return;
        }

        if (source.Length > 0)
        {
            target.CopyFromCPU(Accelerator.DefaultStream, ref MemoryMarshal.GetReference(source), source.Length);
        }
    }

    /// <summary>Copies the start of <paramref name="source"/> into <paramref name="target"/>, waiting for the device first.</summary>
    public void CopyToCPU<T>(ArrayView<T> source, Span<T> target)
        where T : unmanaged
    {
        if (Reach(source, target.Length, nameof(CopyToCPU)) is var host && host != IntPtr.Zero)
        {
            Synchronize();
            Bytes(host, (long)target.Length * Unsafe.SizeOf<T>()).CopyTo(MemoryMarshal.AsBytes(target));
            return;
        }

        if (target.Length > 0)
        {
            source.CopyToCPU(Accelerator.DefaultStream, ref MemoryMarshal.GetReference(target), target.Length);
        }
    }

    /// <summary>Copies <paramref name="source"/> into a new array.</summary>
    public T[] GetAsArray<T>(ArrayView<T> source)
        where T : unmanaged
    {
        var result = new T[checked((int)source.Length)];
        CopyToCPU(source, result);
        return result;
    }

    /// <summary>Sets every element of <paramref name="view"/> to zero and waits for it.</summary>
    public unsafe void Clear<T>(ArrayView<T> view)
        where T : unmanaged
    {
        if (Reach(view, view.Length, nameof(Clear)) is var host && host != IntPtr.Zero)
        {
            NativeMemory.Clear((void*)host, (nuint)(view.Length * sizeof(T)));
            return;
        }

        if (view.Length > 0)
        {
            view.MemSetToZero(Accelerator.DefaultStream);
            Synchronize();
        }
    }

    /// <summary>
    /// <paramref name="view"/> as a span of host memory, read in place after the device finished with
    /// it: what the host does instead of a device algorithm on the direct cpu runner. Memory only the
    /// device reaches is a <see cref="NotSupportedException"/>.
    /// </summary>
    internal unsafe ReadOnlySpan<T> HostView<T>(ArrayView<T> view)
        where T : unmanaged
    {
        var host = Reach(view, view.Length, nameof(HostView));
        if (host == IntPtr.Zero)
        {
            throw new NotSupportedException($"HostView: {Kind.Name()} memory is not addressable from the host; copy it back first.");
        }

        Synchronize();
        return new ReadOnlySpan<T>((void*)host, checked((int)view.Length));
    }

    /// <summary>Maps pinned host memory as an ILGPU buffer of this accelerator.</summary>
    private protected abstract MemoryBuffer MapHostBuffer(IntPtr pointer, long length, int elementSize);

    /// <summary>
    /// Checks that <paramref name="elements"/> fit <paramref name="view"/> and that it is memory of
    /// this runner or the host; returns the host address of its first element, or zero for device
    /// memory (which must then belong to <see cref="Accelerator"/>).
    /// </summary>
    private IntPtr Reach<T>(ArrayView<T> view, long elements, string operation)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var buffer = BufferOf(view);
        if (buffer is null)
        {
            throw new ArgumentException($"{operation}: the view belongs to no buffer.", nameof(view));
        }

        if (elements > view.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), $"{operation}: {elements} elements do not fit the view's {view.Length}.");
        }

        if (buffer.AcceleratorType == AcceleratorType.CPU)
        {
            return view.LoadEffectiveAddressAsPtr();
        }

        if (buffer is IHostMemoryBuffer mapped)
        {
            return mapped.HostPointer + (nint)IndexInBytes(view);
        }

        if (buffer.Accelerator != Accelerator)
        {
            throw new ArgumentException($"{operation}: the view is memory of another accelerator ({buffer.Accelerator.Name}).", nameof(view));
        }

        return IntPtr.Zero;
    }

    private static unsafe Span<byte> Bytes(IntPtr host, long bytes) => new((void*)host, checked((int)bytes));

    /// <summary>The buffer behind a view, read through the interface without boxing the view.</summary>
    private static MemoryBuffer? BufferOf<TView>(in TView view)
        where TView : struct, IArrayView => view.Buffer;

    private static long IndexInBytes<TView>(in TView view)
        where TView : struct, IContiguousArrayView => view.IndexInBytes;
}
