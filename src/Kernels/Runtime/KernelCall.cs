namespace Testbed.Kernels;

/// <summary>
/// One launch's kernel and arguments, carried by value from the loaded kernel's delegate to the
/// backend so that a launch allocates nothing: the Cpu backend calls <see cref="Invoke"/> per work
/// item, with no closure and no boxed argument; the device backends have the arguments laid out by
/// <see cref="Marshal"/>. One struct per arity (<c>KernelCall&lt;T1, …&gt;</c>), as the
/// loaders are.
/// </summary>
internal interface IKernelCall
{
    /// <summary>Runs the C# kernel at <paramref name="index"/> with the launch's arguments.</summary>
    void Invoke(Index1D index);

    /// <summary>Lays the arguments out for a device backend, in declaration order, without boxing them.</summary>
    void Marshal(ref KernelArguments arguments);
}

/// <summary>A launch of a kernel of 1 argument(s).</summary>
internal readonly struct KernelCall<T1>(Action<Index1D, T1> kernel, T1 a1) : IKernelCall
    where T1 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1);

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
    }
}

/// <summary>A launch of a kernel of 2 argument(s).</summary>
internal readonly struct KernelCall<T1, T2>(Action<Index1D, T1, T2> kernel, T1 a1, T2 a2) : IKernelCall
    where T1 : struct
    where T2 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2);

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
        arguments.AddValue(a2);
    }
}

/// <summary>A launch of a kernel of 3 argument(s).</summary>
internal readonly struct KernelCall<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel, T1 a1, T2 a2, T3 a3) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3);

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
        arguments.AddValue(a2);
        arguments.AddValue(a3);
    }
}

/// <summary>A launch of a kernel of 4 argument(s).</summary>
internal readonly struct KernelCall<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel, T1 a1, T2 a2, T3 a3, T4 a4) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
    where T4 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3, a4);

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
        arguments.AddValue(a2);
        arguments.AddValue(a3);
        arguments.AddValue(a4);
    }
}

/// <summary>A launch of a kernel of 5 argument(s).</summary>
internal readonly struct KernelCall<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) : IKernelCall
    where T1 : struct
    where T2 : struct
    where T3 : struct
    where T4 : struct
    where T5 : struct
{
    /// <inheritdoc/>
    public void Invoke(Index1D index) => kernel(index, a1, a2, a3, a4, a5);

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
        arguments.AddValue(a2);
        arguments.AddValue(a3);
        arguments.AddValue(a4);
        arguments.AddValue(a5);
    }
}

/// <summary>A launch of a kernel of 6 argument(s).</summary>
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

    /// <inheritdoc/>
    public void Marshal(ref KernelArguments arguments)
    {
        arguments.AddValue(a1);
        arguments.AddValue(a2);
        arguments.AddValue(a3);
        arguments.AddValue(a4);
        arguments.AddValue(a5);
        arguments.AddValue(a6);
    }
}
