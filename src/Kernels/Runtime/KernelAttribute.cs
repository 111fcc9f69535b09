namespace Testbed.Kernels;

/// <summary>
/// Marks a static method as a kernel: its first parameter is the <see cref="Index1D"/> of the work
/// item, the others are <see cref="ArrayView{T}"/>s and primitives. The Cpu accelerator runs the
/// method itself; the source generator translates its body to OpenCL C and CUDA C at build time,
/// reporting anything outside the supported subset as a compile-time diagnostic.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelAttribute : Attribute;

/// <summary>
/// Marks a static method callable from kernels (and other device functions); it is translated with
/// the kernels that call it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class DeviceFunctionAttribute : Attribute;
