package io.l4mesh.membership;

import io.l4mesh.membership.codec.AuthenticatedMessageCodec;
import io.scalecube.cluster.transport.api.Message;
import io.scalecube.cluster.transport.api.Transport;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Wraps scalecube's transport with the {@link Faults} seam: blocked peers' frames are dropped both ways; on a lossy
 * link a share of the frames sent is dropped and the rest are delayed.
 */
final class FaultTransport implements Transport {
    private final Transport delegate;
    private final Faults faults;
    private final LongAdder dropped;

    FaultTransport(Transport delegate, Faults faults, LongAdder dropped) {
        this.delegate = delegate;
        this.faults = faults;
        this.dropped = dropped;
    }

    @Override
    public String address() {
        return delegate.address();
    }

    @Override
    public Mono<Transport> start() {
        return delegate.start().map(t -> this);
    }

    @Override
    public Mono<Void> stop() {
        return delegate.stop();
    }

    @Override
    public boolean isStopped() {
        return delegate.isStopped();
    }

    @Override
    public Mono<Void> send(String address, Message message) {
        if (faults.isBlocked(address) || faults.lose()) {
            dropped.increment();
            return Mono.empty();
        }
        long delay = faults.delayMs();
        return delay == 0 ? delegate.send(address, message)
            : Mono.delay(Duration.ofMillis(delay)).then(delegate.send(address, message));
    }

    @Override
    public Mono<Message> requestResponse(String address, Message request) {
        if (faults.isBlocked(address) || faults.lose()) {
            dropped.increment();
            return Mono.never();   // as a partition looks: no answer; callers time out
        }
        long delay = faults.delayMs();
        return delay == 0 ? delegate.requestResponse(address, request)
            : Mono.delay(Duration.ofMillis(delay)).then(delegate.requestResponse(address, request));
    }

    @Override
    public Flux<Message> listen() {
        return delegate.listen().filter(m -> {
            if (faults.isBlocked(m.header(AuthenticatedMessageCodec.FROM_HEADER))) {
                dropped.increment();
                return false;
            }
            return true;
        });
    }
}
