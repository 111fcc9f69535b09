using ILGPU;

namespace Testbed.Kernels.Runners.Cpu;

/// <summary>
/// One launch's kernel and arguments, carried by value from the loaded kernel's delegate to the work
/// items, so a launch on the direct cpu runner allocates nothing: no closure per launch, no boxed
/// argument. One struct per arity, as ILGPU's loaders have one per arity.
/// </summary>
internal interface IKernelCall
{
    /// <summary>Runs the kernel method for work item <paramref name="index"/> with the launch's arguments.</summary>
    void Invoke(Index1D index);
}

/// <summary>A launch of a kernel of 1 argument.</summary>
internal readonly struct KernelCall<T1>(Action<Index1D, T1> kernel, T1 a1) : IKernelCall
    where T1 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1);
}

/// <summary>A launch of a kernel of 2 arguments.</summary>
internal readonly struct KernelCall<T1, T2>(Action<Index1D, T1, T2> kernel, T1 a1, T2 a2) : IKernelCall
    where T1 : struct
    where T2 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2);
}

/// <summary>A launch of a kernel of 3 arguments.</summary>
internal readonly struct KernelCall<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel, T1 a1, T2 a2, T3 a3) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3);
}

/// <summary>A launch of a kernel of 4 arguments.</summary>
internal readonly struct KernelCall<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel, T1 a1, T2 a2, T3 a3, T4 a4) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
    where T4 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3, a4);
}

/// <summary>A launch of a kernel of 5 arguments.</summary>
internal readonly struct KernelCall<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
    where T4 : struct
    where T5 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3, a4, a5);
}

/// <summary>A launch of a kernel of 6 arguments.</summary>
internal readonly struct KernelCall<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
    where T4 : struct
    where T5 : struct
    where T6 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3, a4, a5, a6);
}
