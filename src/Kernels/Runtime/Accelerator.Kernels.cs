using System.Reflection;

namespace Testbed.Kernels;

public abstract partial class Accelerator
{
    /// <summary>
    /// Checks that <paramref name="kernel"/> is a static <see cref="KernelAttribute"/> method and lets
    /// the backend prepare it (device backends compile its generated source).
    /// </summary>
    private MethodInfo Load(Delegate kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var method = kernel.Method;
        if (!method.IsStatic || method.GetCustomAttribute<KernelAttribute>() is null)
        {
            throw new ArgumentException($"Load: {method.DeclaringType?.Name}.{method.Name} must be a static method marked [Kernel].", nameof(kernel));
        }

        Prepare(method);
        return method;
    }

    /// <summary>Prepares a kernel for launching (compiles it on device backends); called once per load.</summary>
    protected abstract void Prepare(MethodInfo kernel);

    /// <summary>The checks every launch needs, then the backend's <see cref="Launch"/> (an empty extent launches nothing).</summary>
    private void Dispatch<TCall>(MethodInfo kernel, AcceleratorStream stream, Index1D extent, int groupSize, in TCall call)
        where TCall : struct, IKernelCall
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(extent.X, nameof(extent));
        if (stream.Accelerator != this)
        {
            throw new ArgumentException($"Launch of {kernel.Name}: the stream belongs to another accelerator.", nameof(stream));
        }

        if (extent.X > 0)
        {
            Launch(kernel, stream, extent.X, groupSize, call);
        }
    }

    /// <summary>Loads a kernel of 1 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1> LoadAutoGroupedKernel<T1>(Action<Index1D, T1> kernel)
        where T1 : struct
    {
        var method = Load(kernel);
        return (extent, a1) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1>(kernel, a1));
    }

    /// <summary>Loads a kernel of 1 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1> LoadAutoGroupedStreamKernel<T1>(Action<Index1D, T1> kernel)
        where T1 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1) => Dispatch(method, stream, extent, 0, new KernelCall<T1>(kernel, a1));
    }

    /// <summary>Loads a kernel of 1 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1> LoadStreamKernel<T1>(Action<Index1D, T1> kernel)
        where T1 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1>(kernel, a1));
    }

    /// <summary>Loads a kernel of 2 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1, T2> LoadAutoGroupedKernel<T1, T2>(Action<Index1D, T1, T2> kernel)
        where T1 : struct
        where T2 : struct
    {
        var method = Load(kernel);
        return (extent, a1, a2) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1, T2>(kernel, a1, a2));
    }

    /// <summary>Loads a kernel of 2 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1, T2> LoadAutoGroupedStreamKernel<T1, T2>(Action<Index1D, T1, T2> kernel)
        where T1 : struct
        where T2 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1, a2) => Dispatch(method, stream, extent, 0, new KernelCall<T1, T2>(kernel, a1, a2));
    }

    /// <summary>Loads a kernel of 2 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1, T2> LoadStreamKernel<T1, T2>(Action<Index1D, T1, T2> kernel)
        where T1 : struct
        where T2 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1, a2) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1, T2>(kernel, a1, a2));
    }

    /// <summary>Loads a kernel of 3 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1, T2, T3> LoadAutoGroupedKernel<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
    {
        var method = Load(kernel);
        return (extent, a1, a2, a3) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1, T2, T3>(kernel, a1, a2, a3));
    }

    /// <summary>Loads a kernel of 3 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1, T2, T3> LoadAutoGroupedStreamKernel<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1, a2, a3) => Dispatch(method, stream, extent, 0, new KernelCall<T1, T2, T3>(kernel, a1, a2, a3));
    }

    /// <summary>Loads a kernel of 3 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1, T2, T3> LoadStreamKernel<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1, a2, a3) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1, T2, T3>(kernel, a1, a2, a3));
    }

    /// <summary>Loads a kernel of 4 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1, T2, T3, T4> LoadAutoGroupedKernel<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
    {
        var method = Load(kernel);
        return (extent, a1, a2, a3, a4) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1, T2, T3, T4>(kernel, a1, a2, a3, a4));
    }

    /// <summary>Loads a kernel of 4 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1, T2, T3, T4> LoadAutoGroupedStreamKernel<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1, a2, a3, a4) => Dispatch(method, stream, extent, 0, new KernelCall<T1, T2, T3, T4>(kernel, a1, a2, a3, a4));
    }

    /// <summary>Loads a kernel of 4 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1, T2, T3, T4> LoadStreamKernel<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1, a2, a3, a4) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1, T2, T3, T4>(kernel, a1, a2, a3, a4));
    }

    /// <summary>Loads a kernel of 5 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1, T2, T3, T4, T5> LoadAutoGroupedKernel<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
    {
        var method = Load(kernel);
        return (extent, a1, a2, a3, a4, a5) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1, T2, T3, T4, T5>(kernel, a1, a2, a3, a4, a5));
    }

    /// <summary>Loads a kernel of 5 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5> LoadAutoGroupedStreamKernel<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1, a2, a3, a4, a5) => Dispatch(method, stream, extent, 0, new KernelCall<T1, T2, T3, T4, T5>(kernel, a1, a2, a3, a4, a5));
    }

    /// <summary>Loads a kernel of 5 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1, T2, T3, T4, T5> LoadStreamKernel<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1, a2, a3, a4, a5) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1, T2, T3, T4, T5>(kernel, a1, a2, a3, a4, a5));
    }

    /// <summary>Loads a kernel of 6 argument(s) launched on the default stream over an extent, groups chosen by the backend.</summary>
    public Action<Index1D, T1, T2, T3, T4, T5, T6> LoadAutoGroupedKernel<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
        where T6 : struct
    {
        var method = Load(kernel);
        return (extent, a1, a2, a3, a4, a5, a6) => Dispatch(method, DefaultStream, extent, 0, new KernelCall<T1, T2, T3, T4, T5, T6>(kernel, a1, a2, a3, a4, a5, a6));
    }

    /// <summary>Loads a kernel of 6 argument(s) launched on a given stream, groups chosen by the backend.</summary>
    public Action<AcceleratorStream, Index1D, T1, T2, T3, T4, T5, T6> LoadAutoGroupedStreamKernel<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
        where T6 : struct
    {
        var method = Load(kernel);
        return (stream, extent, a1, a2, a3, a4, a5, a6) => Dispatch(method, stream, extent, 0, new KernelCall<T1, T2, T3, T4, T5, T6>(kernel, a1, a2, a3, a4, a5, a6));
    }

    /// <summary>Loads a kernel of 6 argument(s) launched on a given stream in groups of an explicit size.</summary>
    public Action<AcceleratorStream, Index1D, int, T1, T2, T3, T4, T5, T6> LoadStreamKernel<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
        where T6 : struct
    {
        var method = Load(kernel);
        return (stream, extent, groupSize, a1, a2, a3, a4, a5, a6) => Dispatch(method, stream, extent, CheckGroup(groupSize), new KernelCall<T1, T2, T3, T4, T5, T6>(kernel, a1, a2, a3, a4, a5, a6));
    }

    private static int CheckGroup(int groupSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(groupSize, 1024);
        return groupSize;
    }
}
