using System.Runtime.InteropServices;

namespace Testbed.Kernels.Cpu;

/// <summary>Cpu accelerator memory: 64-byte aligned native memory, or a mapped host range it does not own.</summary>
internal sealed unsafe class CpuMemoryBuffer : MemoryBuffer
{
    private byte* _ptr;

    public CpuMemoryBuffer(Accelerator accelerator, long bytes)
        : base(accelerator, bytes, hostMapped: false)
    {
        _ptr = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        NativeMemory.Clear(_ptr, (nuint)bytes);
    }

    public CpuMemoryBuffer(Accelerator accelerator, byte* mapped, long bytes)
        : base(accelerator, bytes, hostMapped: true) => _ptr = mapped;

    internal override byte* HostPointer => _ptr;

    internal override void CopyFromHost(byte* source, long offset, long bytes) => Buffer.MemoryCopy(source, _ptr + offset, bytes, bytes);

    internal override void CopyToHost(byte* destination, long offset, long bytes) => Buffer.MemoryCopy(_ptr + offset, destination, bytes, bytes);

    internal override void CopyFrom(MemoryBuffer source, long bytes, AcceleratorStream stream) =>
        Buffer.MemoryCopy(source.HostPointer, _ptr, bytes, bytes);

    internal override void Clear() => NativeMemory.Clear(_ptr, (nuint)LengthInBytes);

    protected override void DisposeNative()
    {
        if (!IsHostMapped)
        {
            NativeMemory.AlignedFree(_ptr);
        }

        _ptr = null;
    }
}
