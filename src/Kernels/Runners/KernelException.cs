namespace Testbed.Kernels.Runners;

/// <summary>A work item of a kernel on the direct cpu runner threw; the message names the kernel, the item and what it threw.</summary>
public sealed class KernelException : Exception
{
    /// <summary>Creates the exception for work item <paramref name="item"/> of <paramref name="kernel"/>.</summary>
    public KernelException(string kernel, int item, Exception inner)
        : base($"kernel {kernel}, work item {item}: {inner?.Message}", inner)
    {
        Kernel = kernel;
        Item = item;
    }

    /// <summary>Creates the exception.</summary>
    public KernelException()
    {
        Kernel = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public KernelException(string message)
        : base(message)
    {
        Kernel = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public KernelException(string message, Exception inner)
        : base(message, inner)
    {
        Kernel = string.Empty;
    }

    /// <summary>The kernel, as <c>Family.Method</c>.</summary>
    public string Kernel { get; }

    /// <summary>The work item that threw.</summary>
    public int Item { get; }
}
