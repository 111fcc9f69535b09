namespace Testbed.Kernels.Compilation;

/// <summary>ILGPU refused to compile a kernel; the message names the kernel, the backend and ILGPU's reason.</summary>
public sealed class KernelCompileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KernelCompileException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public KernelCompileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public KernelCompileException()
    {
    }
}
