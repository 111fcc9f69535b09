using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct vm_fault</c> as a driver's <see cref="IDevPagemapOps.MigrateToRam"/> sees it: where the
/// CPU faulted and on which device page. Under <see cref="SwapFaultLocking.Locked"/> the page is
/// locked and referenced by the fault; under <see cref="SwapFaultLocking.Legacy"/> only referenced.
/// </summary>
public readonly record struct VmFault(AddressSpace Mm, Vma Vma, ulong Address, Folio Page, FaultFlags Flags);
