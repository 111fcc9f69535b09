namespace Testbed.Kernels.Runners;

/// <summary>
/// An ILGPU check failed (<c>Trace.Assert</c> in its views: an index outside a view, a view of a
/// non-CPU buffer indexed on the CPU); thrown by <see cref="ViewAssertions"/> instead of ending the process.
/// </summary>
public sealed class KernelAssertionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KernelAssertionException(string message)
        : base($"ILGPU check failed: {message}")
    {
    }

    /// <summary>Creates the exception.</summary>
    public KernelAssertionException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public KernelAssertionException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
