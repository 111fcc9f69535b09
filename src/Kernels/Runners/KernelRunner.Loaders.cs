using ILGPU;

namespace Testbed.Kernels.Runners;

public abstract partial class KernelRunner
{
    /// <summary>
    /// Loads an implicitly grouped kernel of 1 argument (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1> LoadAutoGroupedStreamKernel<T1>(Action<Index1D, T1> kernel)
        where T1 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>
    /// Loads an implicitly grouped kernel of 2 arguments (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1, T2> LoadAutoGroupedStreamKernel<T1, T2>(Action<Index1D, T1, T2> kernel)
        where T1 : struct
        where T2 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>
    /// Loads an implicitly grouped kernel of 3 arguments (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1, T2, T3> LoadAutoGroupedStreamKernel<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>
    /// Loads an implicitly grouped kernel of 4 arguments (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1, T2, T3, T4> LoadAutoGroupedStreamKernel<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>
    /// Loads an implicitly grouped kernel of 5 arguments (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1, T2, T3, T4, T5> LoadAutoGroupedStreamKernel<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>
    /// Loads an implicitly grouped kernel of 6 arguments (ILGPU's <c>LoadAutoGroupedStreamKernel</c>): the
    /// delegate launches it over an extent on the default stream; <see cref="Synchronize"/> waits for it.
    /// </summary>
    public Action<Index1D, T1, T2, T3, T4, T5, T6> LoadAutoGroupedStreamKernel<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
        where T6 : struct
    {
        CheckLoad(kernel);
        return Load(kernel);
    }

    /// <summary>The runner's loader for kernels of 1 argument.</summary>
    private protected abstract Action<Index1D, T1> Load<T1>(Action<Index1D, T1> kernel)
        where T1 : struct;

    /// <summary>The runner's loader for kernels of 2 arguments.</summary>
    private protected abstract Action<Index1D, T1, T2> Load<T1, T2>(Action<Index1D, T1, T2> kernel)
        where T1 : struct
        where T2 : struct;

    /// <summary>The runner's loader for kernels of 3 arguments.</summary>
    private protected abstract Action<Index1D, T1, T2, T3> Load<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct;

    /// <summary>The runner's loader for kernels of 4 arguments.</summary>
    private protected abstract Action<Index1D, T1, T2, T3, T4> Load<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct;

    /// <summary>The runner's loader for kernels of 5 arguments.</summary>
    private protected abstract Action<Index1D, T1, T2, T3, T4, T5> Load<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct;

    /// <summary>The runner's loader for kernels of 6 arguments.</summary>
    private protected abstract Action<Index1D, T1, T2, T3, T4, T5, T6> Load<T1, T2, T3, T4, T5, T6>(Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct
        where T2 : struct
        where T3 : struct
        where T4 : struct
        where T5 : struct
        where T6 : struct;

    /// <summary>A kernel is a static method (ILGPU compiles nothing else); the runner must be alive.</summary>
    private void CheckLoad(Delegate kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!kernel.Method.IsStatic)
        {
            throw new ArgumentException($"{kernel.Method.DeclaringType?.Name}.{kernel.Method.Name} is not a static method; a kernel must be one.", nameof(kernel));
        }
    }

    /// <summary>Checks an extent; true when there is anything to launch.</summary>
    private protected static bool Launches(string kernel, Index1D extent) =>
        extent.X >= 0 ? extent.X > 0 : throw new ArgumentOutOfRangeException(nameof(extent), $"Launch of {kernel}: the extent {extent.X} is negative.");
}
