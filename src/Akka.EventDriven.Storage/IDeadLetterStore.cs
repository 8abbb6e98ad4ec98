using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>The bus's dead-letter queues.</summary>
public interface IDeadLetterStore
{
    /// <summary>Stores a dead letter.</summary>
    Task AddDeadLetterAsync(NewDeadLetter letter, CancellationToken ct = default);

    /// <summary>Dead letters of <paramref name="queue"/> with an id above <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<StoredDeadLetter>> ListDeadLettersAsync(string queue, int limit, long afterId, CancellationToken ct = default);

    /// <summary>How many dead letters <paramref name="queue"/> holds.</summary>
    Task<long> CountDeadLettersAsync(string queue, CancellationToken ct = default);

    /// <summary>Deletes one dead letter (<paramref name="id"/>) or all of <paramref name="queue"/> (null); returns how
    /// many were deleted.</summary>
    Task<int> DeleteDeadLettersAsync(string queue, long? id, CancellationToken ct = default);
}
