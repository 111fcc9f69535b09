using ILGPU;
using ILGPU.Runtime;

namespace Testbed.Kernels.HostMemory;

/// <summary>
/// Pinned host memory mapped into an accelerator (<see cref="Runners.KernelRunner.MapHost{T}"/>): its
/// <see cref="View"/> is what kernels take. Disposing it unmaps the memory and frees nothing.
/// </summary>
public sealed class HostMapping<T> : IDisposable
    where T : unmanaged
{
    private readonly MemoryBuffer _buffer;

    internal HostMapping(MemoryBuffer buffer, long length)
    {
        _buffer = buffer;
        View = length == 0 ? default : buffer.AsArrayView<T>(0, length);
    }

    /// <summary>The mapped memory as kernels see it.</summary>
    public ArrayView<T> View { get; }

    /// <summary>Unmaps the memory.</summary>
    public void Dispose() => _buffer.Dispose();
}
