namespace Testbed.Results;

/// <summary>A result file that is not a valid <c>testbed.result/1</c> document; the message names the JSON path and what is wrong.</summary>
public sealed class ResultFormatException(string message) : Exception(message)
{
}
