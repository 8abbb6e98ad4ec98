using Akka.EventDriven.Kafka.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Akka.EventDriven.Kafka.Tests;

/// <summary>
/// What librdkafka's mock cluster can show about the transactional flow: outputs and consumed offsets go through
/// init / begin / send-offsets / commit, failures abort, a second instance with the same transactional id fences the
/// <para>It cannot show that read_committed consumers skip aborted outputs, that offsets sent in a transaction move
/// the group, or fencing: here a second producer initialising the same transactional id succeeded and the first
/// kept committing. Those need a real broker (docker-compose).</para>
/// </summary>
public sealed class TransactionalSpec(MockClusterFixture fixture, ITestOutputHelper output)
    : KafkaSpecBase(fixture, output), IClassFixture<MockClusterFixture>
{
    private async Task<string> InputTopicAsync(int messages, int partitions = 2)
    {
        var topic = Unique("in");
        _cluster.CreateTopic(topic, partitions);
        await Source.From(Enumerable.Range(0, messages)).Select(i => new Message<Null, string> { Value = $"m{i}" })
            .RunWith(KafkaProducer.Sink(ProducerSettings(), topic), _materializer).WaitAsync(Wait);
        return topic;
    }

    [Fact]
    public async Task Consume_transform_produce_commits_outputs_and_offsets_in_batched_transactions()
    {
        var input = await InputTopicAsync(100);
        var output = Unique("out");
        _cluster.CreateTopic(output, 2);

        #region kafka-transactional
        var stats = KafkaConsumer.TransactionalSource(ConsumerSettings(Unique("g")), input)  // exactly-once consume-transform-produce
            .Take(100)
            .Select(m => new ProducerMessage<Null, string, ICommittable>(output,
                new Message<Null, string> { Value = m.Record.Message.Value.ToUpperInvariant() }, m))
            .ToMaterialized(Transactional.Sink(ProducerSettings(), new TransactionSettings(Unique("tx"), MaxBatch: 30, MaxInterval: TimeSpan.FromHours(1))), Keep.Right)
            .Run(_materializer);
        #endregion
        await stats.Completion.WaitAsync(Wait);

        Assert.Equal((4L, 0L, 100L), (stats.CommittedTransactions, stats.AbortedTransactions, stats.CommittedMessages));   // 30 + 30 + 30, and 10 at completion
        var outputs = await KafkaConsumer.PlainSource(ConsumerSettings(Unique("reader")), output).Take(100)
            .Select(r => r.Message.Value).RunWith(Sink.Seq<string>(), _materializer).WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"M{i}").Order(), outputs.Order());
    }

    [Fact]
    public async Task A_failure_aborts_the_open_transaction_and_fails_the_stream()
    {
        // One partition: m25 is the 26th message, so m20..m24 are in the open transaction when it fails (over two
        // random partitions it could come right after a commit, with no transaction open to abort).
        var input = await InputTopicAsync(50, partitions: 1);
        var output = Unique("out");
        _cluster.CreateTopic(output, 1);

        var stats = KafkaConsumer.TransactionalSource(ConsumerSettings(Unique("g")), input)
            .Select(m => m.Record.Message.Value == "m25" ? throw new InvalidOperationException("transform failed") : m)
            .Select(m => new ProducerMessage<Null, string, ICommittable>(output, new Message<Null, string> { Value = m.Record.Message.Value }, m))
            .ToMaterialized(Transactional.Sink(ProducerSettings(), new TransactionSettings(Unique("tx"), MaxBatch: 10, MaxInterval: TimeSpan.FromHours(1))), Keep.Right)
            .Run(_materializer);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => stats.Completion.WaitAsync(Wait));
        Assert.Equal("transform failed", error.Message);
        Assert.Equal(1L, stats.AbortedTransactions);
        Assert.Equal((2L, 20L), (stats.CommittedTransactions, stats.CommittedMessages));    // m0..m9 and m10..m19
    }
}
