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
/// device backends, each of which only says how to name a buffer.
/// </summary>
internal static class KernelArguments
{
    public static KernelArgument[] Flatten(MethodInfo kernel, int extent, object[] args, Func<IArrayView, ulong?> handle, bool viewsCarryOffset, params KernelArgument[] hiddenAfterExtent)
    {
        var result = new List<KernelArgument> { Of(extent) };
        result.AddRange(hiddenAfterExtent);

        foreach (var arg in args)
        {
            switch (arg)
            {
                case int v: result.Add(Of(v)); break;
                case uint v: result.Add(Of(v)); break;
                case long v: result.Add(Of(v)); break;
                case ulong v: result.Add(Of(v)); break;
                case float v: result.Add(Of(v)); break;
                case double v: result.Add(Of(v)); break;
                case IArrayView view:
                    var h = handle(view) ?? throw new ArgumentException($"Launch of {kernel.Name}: argument {result.Count} must be a whole buffer of this accelerator.", nameof(args));
                    result.Add(Of(h));
                    if (viewsCarryOffset)
                    {
                        result.Add(Of(view.Offset));
                    }

                    result.Add(Of(view.Length));
                    break;
                default:
                    throw new ArgumentException($"Launch of {kernel.Name}: argument of type {arg.GetType().Name} is not an ArrayView or a supported primitive.", nameof(args));
            }
        }

        return [.. result];
    }

    /// <summary>A value as a kernel argument of its own size.</summary>
    public static KernelArgument Of<T>(T value)
        where T : unmanaged
    {
        ulong bits = 0;
        Unsafe.As<ulong, T>(ref bits) = value;
        return new KernelArgument(bits, Unsafe.SizeOf<T>());
    }
}
