using System.Reflection;
using System.Runtime.CompilerServices;

namespace Testbed.Kernels;

/// <summary>One argument of a generated kernel: up to 8 bytes of value and its size.</summary>
internal readonly record struct KernelArgument(ulong Bits, int Size);

/// <summary>
/// Lays out a launch's arguments the way the generator declares them: the extent (int), then each
/// C# argument — a primitive by value, an <see cref="ArrayView{T}"/> as its device handle, then (for
/// OpenCL, whose buffers cannot be offset) its element offset, then its length (long). A backend may
/// add hidden arguments right after the extent (OpenCL: the non-coherent range and delay). Shared by the
/// device backends, each of which only says how to name a buffer
/// (<see cref="Accelerator.KernelBufferHandle"/>). The arguments go into a span the launch puts on
/// its stack, and a view's members are read through a constrained call, never a boxed interface, so
/// a launch on a device backend allocates nothing once warm, as one on the Cpu accelerator.
/// </summary>
internal ref struct KernelArguments
{
    /// <summary>Slots a launch reserves: the extent, four hidden arguments, and six views of three slots each fit.</summary>
    public const int Capacity = 32;

    private readonly Span<KernelArgument> _slots;
    private readonly MethodInfo _kernel;
    private readonly Accelerator _accelerator;
    private readonly bool _viewsCarryOffset;
    private int _count;
    private int _argument;

    /// <summary>Starts the arguments of a launch of <paramref name="kernel"/> on <paramref name="accelerator"/> with its extent.</summary>
    public KernelArguments(Span<KernelArgument> slots, MethodInfo kernel, Accelerator accelerator, int extent, bool viewsCarryOffset)
    {
        _slots = slots;
        _kernel = kernel;
        _accelerator = accelerator;
        _viewsCarryOffset = viewsCarryOffset;
        Add(Of(extent));
    }

    /// <summary>The arguments laid out so far.</summary>
    public readonly ReadOnlySpan<KernelArgument> Written => _slots[.._count];

    /// <summary>Adds one argument as it is.</summary>
    public void Add(KernelArgument argument)
    {
        if (_count == _slots.Length)
        {
            throw new ArgumentException($"Launch of {_kernel.Name}: more than {_slots.Length} argument slots.");
        }

        _slots[_count++] = argument;
    }

    /// <summary>Adds a C# argument of the kernel: a supported primitive by value, an <see cref="ArrayView{T}"/> as handle, (offset,) length.</summary>
    public void AddValue<T>(in T value)
        where T : struct
    {
        _argument++;
        ref var v = ref Unsafe.AsRef(in value);
        if (typeof(T) == typeof(int))
        {
            Add(Of(Unsafe.As<T, int>(ref v)));
        }
        else if (typeof(T) == typeof(uint))
        {
            Add(Of(Unsafe.As<T, uint>(ref v)));
        }
        else if (typeof(T) == typeof(long))
        {
            Add(Of(Unsafe.As<T, long>(ref v)));
        }
        else if (typeof(T) == typeof(ulong))
        {
            Add(Of(Unsafe.As<T, ulong>(ref v)));
        }
        else if (typeof(T) == typeof(float))
        {
            Add(Of(Unsafe.As<T, float>(ref v)));
        }
        else if (typeof(T) == typeof(double))
        {
            Add(Of(Unsafe.As<T, double>(ref v)));
        }
        else if (Views<T>.Write is { } write)
        {
            write(ref this, in value);
        }
        else
        {
            throw new ArgumentException($"Launch of {_kernel.Name}: argument {_argument} is a {typeof(T).Name}, neither an ArrayView nor a supported primitive.");
        }
    }

    /// <summary>A value as a kernel argument of its own size.</summary>
    public static KernelArgument Of<T>(T value)
        where T : unmanaged
    {
        ulong bits = 0;
        Unsafe.As<ulong, T>(ref bits) = value;
        return new KernelArgument(bits, Unsafe.SizeOf<T>());
    }

    /// <summary>Adds a view: its members read through the constraint, without boxing it.</summary>
    private static void AddView<TView>(ref KernelArguments arguments, in TView view)
        where TView : struct, IArrayView
    {
        var handle = arguments._accelerator.KernelBufferHandle(view.Buffer, view.Offset, view.ElementSize)
            ?? throw new ArgumentException($"Launch of {arguments._kernel.Name}: argument {arguments._argument} is a view of a buffer of another accelerator.");
        arguments.Add(Of(handle));
        if (arguments._viewsCarryOffset)
        {
            arguments.Add(Of(view.Offset));
        }

        arguments.Add(Of(view.Length));
    }

    private delegate void ViewWriter<T>(ref KernelArguments arguments, in T value);

    /// <summary><see cref="AddView"/> for <typeparamref name="T"/>, made once per view type; null for a type that is not a view.</summary>
    private static class Views<T>
        where T : struct
    {
        public static readonly ViewWriter<T>? Write = typeof(IArrayView).IsAssignableFrom(typeof(T))
            ? typeof(KernelArguments).GetMethod(nameof(AddView), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(typeof(T)).CreateDelegate<ViewWriter<T>>()
            : null;
    }
}
