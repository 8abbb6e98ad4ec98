using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>How <see cref="Transactional.Sink{TKey,TValue}"/> groups messages into transactions.</summary>
/// <param name="TransactionalId">The producer's <c>transactional.id</c>: stable per pipeline instance (a restarted
/// instance with the same id fences the old one and aborts its open transaction).</param>
/// <param name="MaxBatch">Commit the transaction after this many messages (default 1000).</param>
/// <param name="MaxInterval">Commit at least this often while a transaction is open (default 100 ms).</param>
/// <param name="Timeout">Timeout of each transactional call (init, send offsets, commit, abort; default 30 s).</param>
public sealed record TransactionSettings(string TransactionalId, int MaxBatch = 1000, TimeSpan? MaxInterval = null, TimeSpan? Timeout = null)
{
    internal TimeSpan Interval => MaxInterval ?? TimeSpan.FromMilliseconds(100);
    internal TimeSpan CallTimeout => Timeout ?? TimeSpan.FromSeconds(30);
}
