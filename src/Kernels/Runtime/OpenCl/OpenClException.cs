using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>An OpenCL call failed: the message names the call and the CL error (and carries a build log when there is one).</summary>
public sealed class OpenClException : Exception
{
    internal OpenClException(string call, int status, string? detail = null)
        : base($"{call} failed: {OpenClError.Name(status)}{(detail is null ? string.Empty : "\n" + detail)}") => Status = status;

    /// <summary>The CL status code.</summary>
    public int Status { get; }
}
